package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a user can get wrong, against a real server and real wireguard-go interfaces in a
 * namespace of their own (no DNS server is reachable there): each mistake gives one line on
 * stderr that says what is wrong, no stack trace, the documented exit status, and leaves every
 * interface exactly as it was.
 */
class BadInputTest {
    private static Netns ns;
    private static CliProcess server;
    private static String wg;
    private static String lonely;
    private static String serverAt;
    private static final KeyPair SERVER = KeyPair.generate();

    @BeforeAll
    static void setUp() throws Exception {
        Netns.assumeAvailable();
        ns = Netns.create();
        wg = ns.wireguardGo("a");
        ns.setKey(wg, KeyPair.generate().privateKey().toBase64(), 51820);
        ns.wg("set", wg, "peer", KeyPair.generate().publicKey().toBase64(), "allowed-ips", "100.64.79.2/32");
        lonely = ns.wireguardGo("n");
        ns.setKey(lonely, KeyPair.generate().privateKey().toBase64(), 51822);
        server = CliProcess.start(ns.exec(), SERVER.privateKey().toBase64(), "server", "--bind", "127.0.0.1", "0", "-");
        serverAt = "127.0.0.1:" + server.awaitLine("Starting nat-punching server on port ", 30).replaceAll("\\D", "");
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            if (server != null) {
                server.close();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    /** Runs the client in the namespace; checks the exit status, one line, and that nothing changed. */
    private static String fails(int exit, String... args) throws Exception {
        String before = dumps();
        try (CliProcess p = CliProcess.start(ns.exec(), "", args)) {
            assertEquals(exit, p.await(60), p.out() + p.err());
            assertEquals(1, p.err().lines().count(), "one line:\n" + p.err());
            assertTrue(p.err().startsWith("natpunch client: error: "), p.err());
            assertEquals("", p.out());
            assertEquals(before, dumps(), "nothing changed");
            return p.err().strip();
        }
    }

    private static String dumps() throws Exception {
        return ns.wg("show", wg, "dump") + ns.wg("show", lonely, "dump");
    }

    @Test
    void aMalformedServerKeyIsAUsageError() throws Exception {
        String err = fails(2, "client", wg, serverAt, SERVER.publicKey().toBase64().substring(1));
        assertTrue(err.contains("SERVER_PUBKEY") && err.contains("not a WireGuard key: expected 44 characters"), err);
        assertTrue(err.endsWith("(try 'natpunch client --help')"), err);
    }

    @Test
    void aServerKeyThatNoServerCanHoldIsAUsageError() throws Exception {
        // All zeros is a low-order point: no Diffie-Hellman with it is possible.
        String err = fails(2, "client", wg, serverAt, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assertTrue(err.contains("SERVER_PUBKEY") && err.contains("low-order point, which no server or peer can"
                + " hold; copy the key the server printed"), err);
    }

    @Test
    void anUnknownInterfaceIsNamed() throws Exception {
        String err = fails(1, "client", "npcnone0", serverAt, SERVER.publicKey().toBase64());
        assertTrue(err.contains("npcnone0"), err);
    }

    @Test
    void aServerNameThatDoesNotResolveSaysSo() throws Exception {
        String err = fails(1, "client", wg, "rendezvous.invalid:3478", SERVER.publicKey().toBase64());
        assertEquals("natpunch client: error: cannot resolve the server name 'rendezvous.invalid': check the"
                + " spelling and this machine's DNS", err);
    }

    @Test
    void aWrongServerKeyMeansNoHandshakeResponseAndSaysWhy() throws Exception {
        String err = fails(1, "client", "--timeout", "1", wg, serverAt, KeyPair.generate().publicKey().toBase64());
        assertEquals("natpunch client: error: no handshake response from the rendezvous server " + serverAt
                + " within 10 s: most likely the server key is wrong or the server is unreachable; check that its"
                + " public key is right (a server cannot decrypt a handshake made for another key, so it stays"
                + " silent), then its address and port, that it runs, and that UDP to it is not filtered", err);
    }

    @Test
    void anInterfaceWithoutPeersSaysHowToAddOne() throws Exception {
        String err = fails(1, "client", lonely, serverAt, SERVER.publicKey().toBase64());
        assertEquals("natpunch client: error: " + lonely + " has no peers: add them first, e.g. wg set " + lonely
                + " peer <PUBLIC_KEY> allowed-ips <IP>/32", err);
    }

    @Test
    void badNumbersAreUsageErrors() throws Exception {
        for (List<String> args : List.of(List.of("--delay", "0"), List.of("--timeout", "-1"), List.of("-k", "0"))) {
            String[] all = new String[args.size() + 4];
            all[0] = "client";
            for (int i = 0; i < args.size(); i++) {
                all[i + 1] = args.get(i);
            }
            all[args.size() + 1] = wg;
            all[args.size() + 2] = serverAt;
            all[args.size() + 3] = SERVER.publicKey().toBase64();
            fails(2, all);
        }
    }
}
