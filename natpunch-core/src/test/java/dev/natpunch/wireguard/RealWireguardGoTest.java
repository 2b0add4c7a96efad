package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The UAPI and {@code wg} backends against a real wireguard-go in its own network namespace,
 * checked against what {@code wg show <if> dump} says. Needs root, ip, wg and wireguard-go; the
 * test JVM stays in the root namespace, so every test also shows that a device in another
 * namespace is reachable (the UAPI socket is filesystem-global).
 */
class RealWireguardGoTest {
    private static final String ALLOWED_A = "10.0.0.0/24,fd00::/64";
    private static final String ALLOWED_B = "10.1.0.1/32";

    private WireguardGoDevice dev;
    private Path keyFile;
    private KeyPair own;
    private Key peerA;
    private Key peerB;
    private int listenPort;

    @BeforeEach
    void startDevice() throws Exception {
        WireguardGoDevice.assumeAvailable();
        dev = WireguardGoDevice.start();
        own = KeyPair.generate();
        peerA = KeyPair.generate().publicKey();
        peerB = KeyPair.generate().publicKey();
        listenPort = ThreadLocalRandom.current().nextInt(20000, 60000);
        keyFile = WireguardGoDevice.privateKeyFile(own.privateKey().toBase64());
        dev.wg("set", dev.interfaceName, "private-key", keyFile.toString(), "listen-port", Integer.toString(listenPort),
                "fwmark", "0x42",
                "peer", peerA.toBase64(), "allowed-ips", ALLOWED_A, "endpoint", "198.18.0.1:51820",
                "persistent-keepalive", "25",
                "peer", peerB.toBase64(), "allowed-ips", ALLOWED_B);
    }

    @AfterEach
    void stopDevice() throws Exception {
        try {
            if (dev != null) {
                dev.close();
            }
        } finally {
            if (keyFile != null) {
                Files.deleteIfExists(keyFile);
            }
        }
    }

    private static WireguardControl backend(String name) {
        switch (name) {
            case "uapi":
                return WireguardControl.uapi();
            case "wg":
                return WireguardControl.wgCommand();
            default:
                throw new IllegalArgumentException(name);
        }
    }

    /** The dump as rows of tab-separated fields; row 0 is the device. */
    private List<String[]> rows() throws Exception {
        List<String[]> rows = new ArrayList<>();
        for (String line : dev.dump().split("\n")) {
            rows.add(line.split("\t", -1));
        }
        return rows;
    }

    private String[] row(List<String[]> rows, Key peer) {
        return rows.stream().skip(1).filter(r -> r[0].equals(peer.toBase64())).findFirst().orElseThrow();
    }

    private static void assertMatchesDump(Device d, List<String[]> rows) {
        String[] dv = rows.get(0);
        assertEquals(dv[0], d.privateKey().map(Key::toBase64).orElse("(none)"), "private key");
        assertEquals(dv[1], d.publicKey().map(Key::toBase64).orElse("(none)"), "public key");
        assertEquals(Integer.parseInt(dv[2]), d.listenPort(), "listen port");
        assertEquals(dv[3], d.fwmark() == 0 ? "off" : "0x" + Integer.toHexString(d.fwmark()), "fwmark");
        assertEquals(rows.size() - 1, d.peers().size(), "peer count");
        for (int i = 1; i < rows.size(); i++) {
            String[] r = rows.get(i);
            // wg show sorts peers by latest handshake, so its order is not the device's.
            Peer p = d.peer(Key.fromBase64(r[0])).orElseThrow(() -> new AssertionError("missing peer " + r[0]));
            assertEquals(r[2], p.endpoint().map(IpText::formatEndpoint).orElse("(none)"), "endpoint");
            assertEquals(r[3], p.allowedIps().isEmpty() ? "(none)"
                    : p.allowedIps().stream().map(AllowedIp::toString).collect(Collectors.joining(",")), "allowed ips");
            assertEquals(Long.parseLong(r[4]), p.latestHandshake().map(t -> t.getEpochSecond()).orElse(0L), "handshake");
            assertEquals(Long.parseLong(r[5]), p.rxBytes(), "rx");
            assertEquals(Long.parseLong(r[6]), p.txBytes(), "tx");
            assertEquals(r[7], p.persistentKeepaliveSeconds() == 0 ? "off"
                    : Integer.toString(p.persistentKeepaliveSeconds()), "keepalive");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"uapi", "wg"})
    void readsEveryFieldAsWgShowDumpDoes(String name) throws Exception {
        WireguardControl control = backend(name);
        assertEquals(name, control.backendName());
        Device d = control.device(dev.interfaceName);
        List<String[]> rows = rows();
        assertMatchesDump(d, rows);
        assertEquals(own.privateKey(), d.privateKey().orElseThrow());
        assertEquals(own.publicKey(), d.publicKey().orElseThrow());
        assertEquals(listenPort, d.listenPort());
        assertEquals(0x42, d.fwmark());
        Peer a = d.peer(peerA).orElseThrow();
        assertEquals(new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820), a.endpoint().orElseThrow());
        assertEquals(List.of(AllowedIp.parse("10.0.0.0/24"), AllowedIp.parse("fd00::/64")), a.allowedIps());
        assertEquals(25, a.persistentKeepaliveSeconds());
        Peer b = d.peer(peerB).orElseThrow();
        assertTrue(b.endpoint().isEmpty());
        assertEquals(0, b.persistentKeepaliveSeconds());
    }

    @ParameterizedTest
    @ValueSource(strings = {"uapi", "wg"})
    void updatesOnlyEndpointAndKeepalive(String name) throws Exception {
        WireguardControl control = backend(name);
        List<String[]> before = rows();

        control.updatePeer(dev.interfaceName, PeerUpdate.builder(peerB)
                .endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.7"), 40000))
                .persistentKeepaliveSeconds(30).build());
        List<String[]> afterB = rows();
        assertEquals(String.join("\t", before.get(0)), String.join("\t", afterB.get(0)), "device line unchanged");
        assertSamePeer(row(before, peerA), row(afterB, peerA));
        String[] b = row(afterB, peerB);
        assertEquals("198.18.0.7:40000", b[2]);
        assertEquals(ALLOWED_B, b[3]);
        assertEquals("30", b[7]);
        assertEquals("(none)", b[1], "no preshared key appeared");

        control.updatePeer(dev.interfaceName, PeerUpdate.builder(peerA)
                .endpoint(new InetSocketAddress(InetAddress.getByName("fd00::7"), 51821)).build());
        List<String[]> afterA = rows();
        String[] a = row(afterA, peerA);
        assertEquals("[fd00::7]:51821", a[2]);
        assertEquals(ALLOWED_A, a[3]);
        assertEquals("25", a[7], "keepalive untouched by an endpoint-only update");
        assertSamePeer(row(afterB, peerB), row(afterA, peerB));

        control.updatePeer(dev.interfaceName, PeerUpdate.builder(peerA).persistentKeepaliveSeconds(0).build());
        List<String[]> afterOff = rows();
        assertEquals("off", row(afterOff, peerA)[7]);
        assertEquals("[fd00::7]:51821", row(afterOff, peerA)[2], "endpoint untouched by a keepalive-only update");
        assertEquals(3, afterOff.size(), "no peer added or removed");
        assertMatchesDump(control.device(dev.interfaceName), rows());
    }

    /**
     * Several updates in one call, the same peer twice among them: all applied, in order (the
     * second block of a peer sees the first's result), and nothing else touched.
     */
    @ParameterizedTest
    @ValueSource(strings = {"uapi", "wg"})
    void updatesSeveralPeersInOneCallInOrder(String name) throws Exception {
        WireguardControl control = backend(name);
        List<String[]> before = rows();
        control.updatePeers(dev.interfaceName, List.of(
                PeerUpdate.builder(peerA).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.5"), 5))
                        .persistentKeepaliveSeconds(0).build(),
                PeerUpdate.builder(peerB).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.6"), 6))
                        .persistentKeepaliveSeconds(20).build(),
                PeerUpdate.builder(peerA).persistentKeepaliveSeconds(15).build()));
        List<String[]> after = rows();
        assertEquals("198.18.0.5:5", row(after, peerA)[2]);
        assertEquals("15", row(after, peerA)[7], "the later update of the same peer wins");
        assertEquals("198.18.0.6:6", row(after, peerB)[2]);
        assertEquals("20", row(after, peerB)[7]);
        assertEquals(row(before, peerA)[3], row(after, peerA)[3], "allowed IPs untouched");
        assertEquals(String.join("\t", before.get(0)), String.join("\t", after.get(0)), "device line unchanged");
        assertEquals(3, after.size(), "no peer added or removed");
    }

    /** One peer of a batch is not configured: nothing of the batch is written. */
    @ParameterizedTest
    @ValueSource(strings = {"uapi", "wg"})
    void aBatchWithAnAbsentPeerChangesNothing(String name) throws Exception {
        String before = sortedDump();
        Key stranger = KeyPair.generate().publicKey();
        WireguardException e = assertThrows(WireguardException.class, () -> backend(name).updatePeers(dev.interfaceName,
                List.of(PeerUpdate.builder(peerB).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.6"), 6))
                                .build(),
                        PeerUpdate.builder(stranger).persistentKeepaliveSeconds(25).build())));
        assertEquals(WireguardException.Kind.NO_SUCH_PEER, e.kind());
        assertTrue(e.getMessage().contains(stranger.toBase64()), e.getMessage());
        assertEquals(before, sortedDump());
    }

    /** Same key, preshared key, endpoint, allowed IPs and keepalive (counters may move). */
    private static void assertSamePeer(String[] expected, String[] actual) {
        for (int i : new int[] {0, 1, 2, 3, 7}) {
            assertEquals(expected[i], actual[i], "field " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"uapi", "wg"})
    void absentPeerIsNoSuchPeerAndChangesNothing(String name) throws Exception {
        String before = sortedDump();
        Key stranger = KeyPair.generate().publicKey();
        WireguardException e = assertThrows(WireguardException.class, () -> backend(name).updatePeer(dev.interfaceName,
                PeerUpdate.builder(stranger).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.9"), 9))
                        .persistentKeepaliveSeconds(25).build()));
        assertEquals(WireguardException.Kind.NO_SUCH_PEER, e.kind());
        assertTrue(e.getMessage().contains(stranger.toBase64()), e.getMessage());
        assertEquals(before, sortedDump());
    }

    /** The dump with peer lines sorted: wg show orders peers by handshake time, ties arbitrarily. */
    private String sortedDump() throws Exception {
        String[] lines = dev.dump().split("\n");
        java.util.Arrays.sort(lines, 1, lines.length);
        return String.join("\n", lines);
    }

    @ParameterizedTest
    @ValueSource(strings = {"uapi", "wg"})
    void unknownInterfaceIsNoSuchInterface(String name) throws Exception {
        String absent = dev.interfaceName + "x";
        WireguardException e = assertThrows(WireguardException.class, () -> backend(name).device(absent));
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(absent), e.getMessage());
        WireguardException u = assertThrows(WireguardException.class, () -> backend(name).updatePeer(absent,
                PeerUpdate.builder(peerA).persistentKeepaliveSeconds(1).build()));
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE, u.kind(), u.getMessage());
    }

    @Test
    void automaticPicksUapiWhenTheSocketExists() throws Exception {
        WireguardControl auto = WireguardControl.automatic();
        assertEquals("automatic", auto.backendName());
        assertEquals("uapi", ((AutomaticBackend) auto).select(dev.interfaceName).backendName());
        assertMatchesDump(auto.device(dev.interfaceName), rows());
        auto.updatePeer(dev.interfaceName, PeerUpdate.builder(peerB).persistentKeepaliveSeconds(15).build());
        assertEquals("15", row(rows(), peerB)[7]);
    }

    @Test
    void automaticWithoutSocketOrModuleSaysNoSuchInterface() {
        assumeFalse(Files.exists(Path.of("/sys/module/wireguard")), "covers the machine without the kernel module");
        String absent = dev.interfaceName + "x";
        WireguardControl auto = WireguardControl.automatic();
        assertEquals("netlink", ((AutomaticBackend) auto).select(absent).backendName());
        WireguardException e = assertThrows(WireguardException.class, () -> auto.device(absent));
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(dev.interfaceName), "names the interfaces that exist: " + e.getMessage());
    }

    @Test
    void wgAsAnUnprivilegedUserIsPermissionDenied() throws Exception {
        assumeTrue(WireguardGoDevice.onPath("setpriv"), "needs setpriv (util-linux) to drop privileges");
        Path wrapper = Files.createTempFile("npw-wg-nobody", ".sh");
        try {
            Files.writeString(wrapper, "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups wg \"$@\"\n");
            wrapper.toFile().setExecutable(true);
            WireguardException e = assertThrows(WireguardException.class,
                    () -> WireguardControl.wgCommand(wrapper).device(dev.interfaceName));
            assertEquals(WireguardException.Kind.PERMISSION_DENIED, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("run as root or grant CAP_NET_ADMIN"), e.getMessage());
        } finally {
            Files.deleteIfExists(wrapper);
        }
    }

    @Test
    void uapiAsAnUnprivilegedUserIsPermissionDenied() throws Exception {
        assumeTrue(WireguardGoDevice.onPath("setpriv"), "needs setpriv (util-linux) to drop privileges");
        String classpath = Path.of(WireguardControl.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                + ":" + Path.of(UapiProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String javaExe = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                javaExe, "-Xshare:off", "-cp", classpath, UapiProbe.class.getName(), dev.interfaceName)
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(out.startsWith("PERMISSION_DENIED"), out);
        assertTrue(out.contains("run as root or grant CAP_NET_ADMIN"), out);
    }
}
