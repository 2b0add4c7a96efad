package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client's capabilities, for real: run under {@code setpriv} without one of them, as the
 * unprivileged user {@code nobody}, and as root, where the thread that runs the client is then
 * inspected through /proc while it keeps working.
 */
class PrivilegesTest {
    private static final long NET_ADMIN = 1L << 12;
    private static final long NET_RAW = 1L << 13;

    private Netns ns;
    private String wgA;
    private final KeyPair a = KeyPair.generate();
    private final KeyPair b = KeyPair.generate();

    @BeforeEach
    void setUp() throws Exception {
        Netns.assumeAvailable();
        ns = Netns.create();
        wgA = ns.wireguardGo("a");
        ns.setKey(wgA, a.privateKey().toBase64(), 51820);
        ns.wg("set", wgA, "peer", b.publicKey().toBase64(), "allowed-ips", "100.64.78.2/32");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ns != null) {
            ns.close();
        }
    }

    private List<String> inNs(String... prefix) {
        List<String> cmd = new ArrayList<>(ns.exec());
        cmd.addAll(List.of(prefix));
        return cmd;
    }

    private static void assertOneLine(CliProcess p, int exit, String expected) throws Exception {
        assertEquals(exit, p.await(60), p.out() + p.err());
        assertEquals(1, p.err().lines().count(), p.err());
        assertTrue(p.err().startsWith("natpunch client: error: " + expected), p.err());
    }

    @Test
    void withoutNetRawTheClientRefusesInOneLineNamingTheCapabilityAndTheFix() throws Exception {
        String before = ns.wg("show", wgA, "dump");
        try (CliProcess p = CliProcess.start(inNs("setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw"),
                "", "client", wgA, "127.0.0.1:3478", KeyPair.generate().publicKey().toBase64())) {
            assertOneLine(p, 1, "missing capability CAP_NET_RAW, which the raw socket that sends from"
                    + " WireGuard's port needs: run it as root (sudo natpunch client ...), or give it CAP_NET_RAW"
                    + " and CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)");
        }
        assertEquals(before, ns.wg("show", wgA, "dump"), "nothing changed");
    }

    @Test
    void withoutNetAdminTheKernelBackendIsRefused() throws Exception {
        for (String backend : List.of("netlink", "wg")) {
            try (CliProcess p = CliProcess.start(inNs("setpriv", "--bounding-set", "-net_admin", "--inh-caps",
                    "-net_admin"), "", "client", "--backend", backend, wgA, "127.0.0.1:3478",
                    KeyPair.generate().publicKey().toBase64())) {
                assertOneLine(p, 1, "missing capability CAP_NET_ADMIN, which changing a kernel WireGuard"
                        + " interface needs: run it as root");
            }
        }
        // wireguard-go's socket belongs to root, so root needs no CAP_NET_ADMIN for it: no refusal.
        try (CliProcess p = CliProcess.start(inNs("setpriv", "--bounding-set", "-net_admin", "--inh-caps",
                "-net_admin"), "", "client", "--backend", "uapi", "--timeout", "1", wgA, "127.0.0.1:1",
                KeyPair.generate().publicKey().toBase64())) {
            assertEquals(1, p.await(60));
            assertFalse(p.err().contains("missing capability"), p.err());
        }
    }

    @Test
    void asAnUnprivilegedUserTheClientSaysWhatIsMissing() throws Exception {
        Path cp = Files.createTempDirectory("npc-cp");
        try {
            Files.setPosixFilePermissions(cp, PosixFilePermissions.fromString("rwxr-xr-x"));
            String classpath = CliProcess.copyRuntimeClasspath(cp);
            String before = ns.wg("show", wgA, "dump");
            try (CliProcess p = CliProcess.startWithClasspath(
                    inNs("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), classpath, "",
                    "client", wgA, "127.0.0.1:3478", KeyPair.generate().publicKey().toBase64())) {
                assertOneLine(p, 1, "missing capability CAP_NET_RAW");
            }
            // With both capabilities but not root, wireguard-go's socket (root's, mode 0700) is out of reach.
            try (CliProcess p = CliProcess.startWithClasspath(
                    inNs("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=+net_raw,+net_admin", "--ambient-caps=+net_raw,+net_admin"),
                    classpath, "", "client", wgA, "127.0.0.1:3478", KeyPair.generate().publicKey().toBase64())) {
                assertOneLine(p, 1, "cannot use " + Netns.socket(wgA) + ": it belongs to uid 0 and this process"
                        + " runs as uid 65534 without CAP_DAC_OVERRIDE: run it as root");
            }
            assertEquals(before, ns.wg("show", wgA, "dump"), "nothing changed");
        } finally {
            try (Stream<Path> files = Files.walk(cp)) {
                for (Path f : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                    Files.delete(f);
                }
            }
        }
    }

    /**
     * As root: the thread that runs the client keeps exactly CAP_NET_RAW and CAP_NET_ADMIN, in
     * every set including the bounding set, with no_new_privs; and with only those it still
     * registers, opens its raw socket again when WireGuard's port changes, and sets endpoints,
     * through the wg command as well (a child process).
     */
    @Test
    void asRootTheClientThreadKeepsOnlyNetRawAndNetAdminAndStillWorks() throws Exception {
        String wgB = ns.wireguardGo("b");
        ns.setKey(wgB, b.privateKey().toBase64(), 51821);
        ns.wg("set", wgB, "peer", a.publicKey().toBase64(), "allowed-ips", "100.64.78.1/32");
        KeyPair serverKeys = KeyPair.generate();
        try (CliProcess server = CliProcess.start(ns.exec(), serverKeys.privateKey().toBase64(), "server",
                "--bind", "127.0.0.1", "0", "-")) {
            String at = "127.0.0.1:" + server.awaitLine("Starting nat-punching server on port ", 30).replaceAll("\\D", "");
            String pub = serverKeys.publicKey().toBase64();
            try (CliProcess cb = CliProcess.start(ns.exec(), "", "client", "-c", "-d", "1", "--backend", "wg",
                    wgB, at, pub);
                 CliProcess ca = CliProcess.start(ns.exec(), "", "client", "-c", "-d", "1", wgA, at, pub)) {
                ca.awaitLine("peer " + b.publicKey().toBase64() + ": ", 30);
                cb.awaitLine("peer " + a.publicKey().toBase64() + ": ", 30);
                for (CliProcess client : List.of(ca, cb)) {
                    Capabilities.Status s = clientThread(client.pid());
                    assertEquals(NET_RAW | NET_ADMIN, s.effective(), Long.toHexString(s.effective()));
                    assertEquals(NET_RAW | NET_ADMIN, s.permitted());
                    assertEquals(NET_RAW | NET_ADMIN, s.bounding(), Long.toHexString(s.bounding()));
                    assertEquals(0, s.inheritable());
                    assertTrue(s.noNewPrivs());
                }
                ns.wg("set", wgA, "listen-port", "51830");
                ca.awaitLine("Registered again with " + at, 30);
                // b follows a to its new port: through the server, or WireGuard's own roaming first.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!cb.out().contains("peer " + a.publicKey().toBase64()) || !cb.out().contains(" 127.0.0.1:51830")) {
                    assertTrue(System.nanoTime() < deadline, cb.out() + cb.err());
                    Thread.sleep(100);
                }
                assertTrue(ca.isAlive() && cb.isAlive(), ca.err() + cb.err());
            }
        }
    }

    /** The status of the process's thread named natpunch-client. */
    private static Capabilities.Status clientThread(long pid) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path t : (Iterable<Path>) tasks::iterator) {
                    if (Files.readString(t.resolve("comm"), StandardCharsets.US_ASCII).strip().equals("natpunch-client")) {
                        try (InputStream in = Files.newInputStream(t.resolve("status"))) {
                            return Capabilities.parse(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
                        }
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no thread natpunch-client in process " + pid);
    }
}
