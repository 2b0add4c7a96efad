package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.natpunch.crypto.Key;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: output, one-line errors and exit statuses. */
class MainTest {

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
    void genkeyPrintsAClampedKeyAndPubkeyDerivesItsPublicKey() {
        Run gen = run("", "genkey");
        assertEquals(0, gen.exit());
        byte[] raw = Key.fromBase64(gen.out()).toBytes();
        assertEquals(0, raw[0] & 7, "low three bits cleared");
        assertEquals(0x40, raw[31] & 0xC0, "top bit cleared, second bit set");

        Run pub = run(gen.out(), "pubkey");
        assertEquals(0, pub.exit());
        assertEquals(KeyPair.fromPrivateKey(Key.fromBase64(gen.out())).publicKey().toBase64(),
                pub.out().strip());
    }

    @Test
    void pubkeyAgreesWithWireguardTools() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/wg")), "wireguard-tools (wg) is not installed");
        String privateKey = run("", "genkey").out();
        Process wg = new ProcessBuilder("wg", "pubkey").start();
        wg.getOutputStream().write(privateKey.getBytes(StandardCharsets.US_ASCII));
        wg.getOutputStream().close();
        String expected = new String(wg.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertTrue(wg.waitFor(10, TimeUnit.SECONDS));
        assertEquals(expected, run(privateKey, "pubkey").out().strip());
    }

    @Test
    void pubkeyRejectsWhatIsNotAKeyInOneLine() {
        Run r = run("hello\n", "pubkey");
        assertEquals(1, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("natpunch pubkey: error: standard input: not a WireGuard key"), r.err());
    }

    @Test
    void serverRejectsAPortOutOfRange() {
        Run r = run("", "server", "70000");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("PORT must be 0 to 65535, not 70000"), r.err());
    }

    @Test
    void serverRejectsAMalformedKeyWithTheReason() {
        Run r = run("", "server", "12345", "not-a-key");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("not a WireGuard key"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void serverReportsAPortInUseAndWhatToDo() throws Exception {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            Run r = run("", "server", "--bind", "127.0.0.1", Integer.toString(taken.getLocalPort()));
            assertEquals(1, r.exit());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().contains(Integer.toString(taken.getLocalPort())), r.err());
            assertTrue(r.err().contains("choose a different port"), r.err());
        }
    }

    @Test
    void serverReadsItsKeyFromAFileAndWarnsWhenOthersCanReadIt(@TempDir Path dir) throws Exception {
        Path keyFile = dir.resolve("server.key");
        Files.writeString(keyFile, "short\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-r--r--"));
        Run r = run("", "server", "--private-key-file", keyFile.toString(), "0");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("is readable by other users; run 'chmod 600"), r.err());
        assertTrue(r.err().contains(keyFile + ": not a WireGuard key"), r.err());
    }

    @Test
    void serverRefusesTwoKeys(@TempDir Path dir) {
        String key = run("", "genkey").out().strip();
        Run r = run("", "server", "--private-key-file", dir.resolve("k").toString(), "0", key);
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("not both"), r.err());
    }

    @Test
    void clientRejectsABadServerAddress() {
        String key = KeyPair.generate().publicKey().toBase64();
        Run r = run("", "client", "wg0", "example.net", key);
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("is not HOST:PORT"), r.err());

        r = run("", "client", "wg0", "2001:db8::1:12345", key);
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("[2001:db8::1]:12345"), r.err());
    }

    @Test
    void clientRejectsABadServerKey() {
        Run r = run("", "client", "wg0", "198.18.0.1:12345", "AAAA");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("SERVER_PUBKEY"), r.err());
        assertTrue(r.err().contains("not a WireGuard key"), r.err());
    }

    @Test
    void clientRejectsAnUnknownBackend() {
        String key = KeyPair.generate().publicKey().toBase64();
        Run r = run("", "client", "--backend", "carrier-pigeon", "wg0", "198.18.0.1:12345", key);
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("use auto, uapi, netlink or wg"), r.err());
    }

    @Test
    void clientNamesAnInterfaceThatDoesNotExist() {
        String key = KeyPair.generate().publicKey().toBase64();
        Run r = run("", "client", "--backend", "uapi", "npcli-none0", "198.18.0.1:12345", key);
        assertEquals(1, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("npcli-none0"), r.err());
    }

    @Test
    void helpTeachesEveryCommandAndTheExitStatuses() {
        Run r = run("", "--help");
        assertEquals(0, r.exit());
        for (String word : new String[] {"server", "relay", "client", "genkey", "pubkey", "Exit status"}) {
            assertTrue(r.out().contains(word), word + " missing from:\n" + r.out());
        }
        Run client = run("", "client", "--help");
        assertTrue(client.out().contains("--continuous"), client.out());
        assertTrue(client.out().contains("--delay"), client.out());
    }

    @Test
    void aCommandLineNamingOneSubcommandBuildsOnlyThatOneAndTheUsageListsThemAll() {
        assertEquals(java.util.Set.of("client"), Main.commandLine("-v", "client", "wg0").getSubcommands().keySet());
        picocli.CommandLine all = Main.commandLine("--help");
        assertEquals(java.util.List.of("server", "relay", "client", "genkey", "pubkey", "netcheck", "status", "help"),
                java.util.List.copyOf(all.getSubcommands().keySet()));
        all.getSubcommands().forEach((name, sub) -> assertEquals(name, sub.getCommandSpec().userObject().getClass()
                .getAnnotation(picocli.CommandLine.Command.class).name(), "the name registered for " + name));
        assertEquals(all.getSubcommands().keySet(), Main.commandLine("help", "client").getSubcommands().keySet());
        assertEquals(all.getSubcommands().keySet(), Main.commandLine("clinet").getSubcommands().keySet());
        Run usage = run("", "-h");
        assertTrue(usage.out().contains("netcheck") && usage.out().contains("status"), usage.out());
    }

    @Test
    void theArchiveTrainingRunsTheClientsStartWithoutPrintingAnything() throws Exception {
        java.io.PrintStream savedOut = System.out;
        java.io.PrintStream savedErr = System.err;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream capture = new java.io.PrintStream(printed, true, StandardCharsets.UTF_8);
        System.setOut(capture);
        System.setErr(capture);
        try {
            ArchiveTraining.main(new String[0]);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        assertEquals("", printed.toString(StandardCharsets.UTF_8));
    }
}
