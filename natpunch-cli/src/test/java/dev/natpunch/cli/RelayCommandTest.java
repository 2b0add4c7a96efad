package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code natpunch relay} and {@code natpunch server --relay-server}: what they refuse, in one line
 * each, and a server that connects to a relay on the same machine (standing in for its own host).
 */
class RelayCommandTest {
    private static final String SERVER_KEY = KeyPair.generate().publicKey().toBase64();

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static void assertUsage(String expected, String... args) {
        Run r = run(args);
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(expected), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("error:")).count(), r.err());
    }

    @Test
    void helpTeachesWithAnExamplePairingAServerAndARelay() {
        Run r = run("relay", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("--allow-server SERVER_PUBKEY 3479"), r.out());
        assertTrue(r.out().contains("--relay-server 203.0.113.9:3479=RELAY_PUBKEY"), r.out());
        assertTrue(run("server", "--help").out().contains("--relay-server=HOST:PORT=PUBKEY"));
    }

    @Test
    void theRelayRefusesToServeNobodyAndBadSettings(@TempDir Path dir) throws Exception {
        assertUsage("add --allow-server SERVER_PUBKEY", "relay", "--address", "127.0.0.1");
        assertUsage("--allow-server nope: ", "relay", "--allow-server", "nope", "--address", "127.0.0.1");
        Path keys = dir.resolve("servers");
        Files.writeString(keys, "# servers\n" + SERVER_KEY + "\nnot a key\n");
        assertUsage("line 3: not a base64 WireGuard public key", "relay", "--allow-server-file", keys.toString(),
                "--address", "127.0.0.1");
        assertUsage("--allow-server-file: no file", "relay", "--allow-server-file", dir.resolve("none").toString());
        assertUsage("add --address ADDRESS (or --bind ADDRESS)", "relay", "--allow-server", SERVER_KEY);
        assertUsage("holds the control port 40010: choose a range without it, e.g. --ports 40000-40999", "relay",
                "--allow-server", SERVER_KEY, "--bind", "127.0.0.1", "40010");
        assertUsage("--bandwidth must be 0", "relay", "--allow-server", SERVER_KEY, "--bind", "127.0.0.1",
                "--bandwidth", "-5");
        assertUsage("--idle must be 1 to 65535", "relay", "--allow-server", SERVER_KEY, "--bind", "127.0.0.1",
                "--idle", "0");
        assertUsage("is not a port range FIRST-LAST", "relay", "--allow-server", SERVER_KEY, "--bind", "127.0.0.1",
                "--ports", "5");
    }

    @Test
    void theServerRefusesTwoRelaysAndLocalSettingsForARemoteOne() {
        String remote = "127.0.0.1:3479=" + SERVER_KEY;
        assertUsage("give either --relay (a relay in this process) or --relay-server", "server", "--bind", "127.0.0.1",
                "--relay", "--relay-server", remote, "12345");
        assertUsage("give them to 'natpunch relay' on the relay host", "server", "--relay-server", remote,
                "--relay-idle", "30", "12345");
        assertUsage("--relay-server 127.0.0.1:3479: write HOST:PORT=PUBKEY", "server", "--relay-server",
                "127.0.0.1:3479", "12345");
        assertUsage("--relay-server: ", "server", "--relay-server", "127.0.0.1:3479=AAAA", "12345");
        assertUsage("does not resolve", "server", "--relay-server", "no-such-host.invalid:3479=" + SERVER_KEY, "12345");
    }

    @Test
    void aServerConnectsToTheRelayThatListsItsKey(@TempDir Path dir) throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        Path serverKey = dir.resolve("server.key");
        Files.writeString(serverKey, serverKeys.privateKey().toBase64() + "\n");
        int first = ThreadLocalRandom.current().nextInt(10_000, 31_000);
        try (CliProcess relay = CliProcess.start(List.of(), "", "relay", "--bind", "127.0.0.1",
                "--ports", first + "-" + (first + 9), "--allow-server", serverKeys.publicKey().toBase64(), "0")) {
            String port = relay.awaitLine("Starting relay, control port ", 60).replaceAll("\\D", "");
            String relayKey = relay.awaitLine("Public key: ", 60).substring("Public key: ".length()).strip();
            assertTrue(relay.err().contains("Relay on 127.0.0.1 ports " + first + "-" + (first + 9)), relay.err());
            try (CliProcess server = CliProcess.start(List.of(), "", "server", "--private-key-file", serverKey.toString(),
                    "--bind", "127.0.0.1", "--relay-server", "127.0.0.1:" + port + "=" + relayKey, "0")) {
                assertNotNull(server.awaitLine("Public key: " + serverKeys.publicKey().toBase64(), 60));
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (!server.err().contains("Connected to relay 127.0.0.1:" + port)) {
                    assertTrue(System.nanoTime() < deadline, server.err());
                    Thread.sleep(100);
                }
                assertTrue(relay.err().contains("Server " + serverKeys.publicKey().toBase64() + " connected from"),
                        relay.err());
            }
        }
    }
}
