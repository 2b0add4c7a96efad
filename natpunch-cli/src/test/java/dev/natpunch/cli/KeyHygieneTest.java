package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Private keys on the command line: where they may come from, the warnings, and that none ever
 * reaches an output, a log line or an error message.
 */
class KeyHygieneTest {

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String stdin, String... args) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.US_ASCII)));
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
            return new Run(exit, out.toString(), err.toString());
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void aPositionalPrivateKeyStillWorksButWarnsThatOtherUsersCanSeeIt() throws Exception {
        KeyPair keys = KeyPair.generate();
        try (CliProcess server = CliProcess.start(List.of(), "",
                "server", "--bind", "127.0.0.1", "0", keys.privateKey().toBase64())) {
            assertEquals("Public key: " + keys.publicKey().toBase64(), server.awaitLine("Public key:", 30));
            assertTrue(server.err().contains("Warning: a private key on the command line is visible to every"
                    + " user of this machine (ps, /proc); use --private-key-file FILE, or '-'"), server.err());
        }
    }

    @Test
    void theServerReadsItsKeyFromStandardInputWithADashInEitherPlace() throws Exception {
        KeyPair keys = KeyPair.generate();
        for (List<String> args : List.of(
                List.of("server", "--bind", "127.0.0.1", "0", "-"),
                List.of("server", "--bind", "127.0.0.1", "--private-key-file", "-", "0"))) {
            try (CliProcess server = CliProcess.start(List.of(), keys.privateKey().toBase64() + "\n",
                    args.toArray(new String[0]))) {
                assertEquals("Public key: " + keys.publicKey().toBase64(), server.awaitLine("Public key:", 30));
                assertFalse(server.err().contains("Warning"), server.err());
            }
        }
    }

    @Test
    void aKeyFileIsWarnedAboutExactlyWhenGroupOrOthersCanReadIt(@TempDir Path dir) throws Exception {
        Path keyFile = dir.resolve("server.key");
        Files.writeString(keyFile, KeyPair.generate().privateKey().toBase64() + "\n");
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            String port = Integer.toString(taken.getLocalPort());
            for (String mode : List.of("rw-------", "r--------", "rw-r-----", "rw----r--", "rw-rw-rw-")) {
                Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString(mode));
                // The port is taken, so the server stops right after reading the key.
                Run r = run("", "server", "--bind", "127.0.0.1", "--private-key-file", keyFile.toString(), port);
                assertEquals(1, r.exit(), r.err());
                boolean warned = r.err().contains("Warning: " + keyFile + " is readable by other users; run"
                        + " 'chmod 600 " + keyFile + "'");
                assertEquals(mode.charAt(3) == 'r' || mode.charAt(6) == 'r', warned, mode + ": " + r.err());
            }
        }
    }

    @Test
    void aKeyFileThatCannotBeReadOrIsNotAKeySaysWhyInOneLine(@TempDir Path dir) throws Exception {
        Run missing = run("", "server", "--private-key-file", dir.resolve("nope.key").toString(), "0");
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().contains("create one with 'umask 077; natpunch genkey > "), missing.err());

        String secret = KeyPair.generate().privateKey().toBase64();
        Path typo = dir.resolve("typo.key");
        Files.writeString(typo, secret.substring(0, 30) + "!" + secret.substring(31) + "\n");
        Files.setPosixFilePermissions(typo, PosixFilePermissions.fromString("rw-------"));
        Path huge = dir.resolve("huge.key");
        Files.writeString(huge, (secret + "\n").repeat(100));
        Files.setPosixFilePermissions(huge, PosixFilePermissions.fromString("rw-------"));
        for (Path f : List.of(typo, huge)) {
            Run r = run("", "server", "--private-key-file", f.toString(), "0");
            assertEquals(2, r.exit(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("natpunch server: error: " + f + ": not a WireGuard key"), r.err());
            assertFalse(r.err().contains(secret.substring(0, 10)), "the key text is never echoed: " + r.err());
        }
        Run positional = run("", "server", "0", secret.substring(0, 30) + "!" + secret.substring(31));
        assertEquals(2, positional.exit());
        assertTrue(positional.err().contains("PRIVATE_KEY: not a WireGuard key"), positional.err());
        assertFalse(positional.err().contains(secret.substring(0, 10)), positional.err());
    }

    /**
     * The server and two clients at debug level with stack traces, in a namespace with two real
     * wireguard-go interfaces that are each other's peer: every byte they print is searched for
     * the three private keys, in base64 and hex.
     */
    @Test
    void noPrivateKeyReachesAnyOutputEvenAtDebugLevel(@TempDir Path dir) throws Exception {
        Netns.assumeAvailable();
        KeyPair serverKeys = KeyPair.generate();
        KeyPair a = KeyPair.generate();
        KeyPair b = KeyPair.generate();
        Path serverKeyFile = dir.resolve("server.key");
        Files.writeString(serverKeyFile, serverKeys.privateKey().toBase64() + "\n");
        Files.setPosixFilePermissions(serverKeyFile, PosixFilePermissions.fromString("rw-------"));
        List<String> printed = new ArrayList<>();
        try (Netns ns = Netns.create()) {
            String wgA = ns.wireguardGo("a");
            String wgB = ns.wireguardGo("b");
            ns.setKey(wgA, a.privateKey().toBase64(), 51820);
            ns.setKey(wgB, b.privateKey().toBase64(), 51821);
            ns.wg("set", wgA, "peer", b.publicKey().toBase64(), "allowed-ips", "100.64.77.2/32");
            ns.wg("set", wgB, "peer", a.publicKey().toBase64(), "allowed-ips", "100.64.77.1/32");
            try (CliProcess server = CliProcess.start(ns.exec(), "", "server", "-v", "--bind", "127.0.0.1",
                    "--private-key-file", serverKeyFile.toString(), "0")) {
                String port = server.awaitLine("Starting nat-punching server on port ", 30).replaceAll("\\D", "");
                String at = "127.0.0.1:" + port;
                String pub = serverKeys.publicKey().toBase64();
                // b registers and does not find a (not registered yet): exit 3. Through the wg command.
                try (CliProcess cb = CliProcess.start(ns.exec(), "", "client", "-v", "--backend", "wg",
                        "--timeout", "2", "--verify", "0", wgB, at, pub)) {
                    assertEquals(3, cb.await(60), cb.out() + cb.err());
                    printed.add(cb.out() + cb.err());
                }
                // a finds b and sets its endpoint; the two interfaces then handshake over loopback.
                try (CliProcess ca = CliProcess.start(ns.exec(), "", "client", "-v", "--backend", "uapi",
                        "--verify", "10", wgA, at, pub)) {
                    assertEquals(0, ca.await(60), ca.out() + ca.err());
                    assertTrue(ca.out().contains("peer " + b.publicKey().toBase64() + ": connected 127.0.0.1:51821"),
                            ca.out());
                    printed.add(ca.out() + ca.err());
                }
                // A failure with a stack trace: a server key that is not the server's.
                try (CliProcess wrong = CliProcess.start(ns.exec(), "", "client", "-v", "--timeout", "1",
                        wgA, at, KeyPair.generate().publicKey().toBase64())) {
                    assertEquals(1, wrong.await(60), wrong.out() + wrong.err());
                    assertTrue(wrong.err().contains("\tat dev.natpunch."), "a stack trace with -v: " + wrong.err());
                    printed.add(wrong.out() + wrong.err());
                }
                server.close();
                printed.add(server.out() + server.err());
            }
        }
        String all = String.join("\n", printed);
        assertTrue(all.contains("DEBUG"), "debug logging was on:\n" + all);
        assertTrue(all.contains(a.publicKey().toBase64()) || all.contains(b.publicKey().toBase64()),
                "public keys are printed, so keys do reach the output:\n" + all);
        for (KeyPair k : List.of(serverKeys, a, b)) {
            String b64 = k.privateKey().toBase64();
            String hex = HexFormat.of().formatHex(k.privateKey().toBytes());
            for (String form : List.of(b64, b64.substring(0, 16), b64.substring(24, 40), hex.substring(0, 24),
                    hex.substring(40), hex.toUpperCase(Locale.ROOT).substring(0, 24))) {
                assertFalse(all.contains(form), "a private key reached the output (" + form + "):\n" + all);
            }
        }
    }
}
