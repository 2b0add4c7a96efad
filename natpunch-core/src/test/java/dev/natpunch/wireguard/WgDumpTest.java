package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class WgDumpTest {
    private static final String DUMP = ""
            + "wFQtgUv+zBeX+j4sOxLovgLZGuo2Q08K1Ut+he2z8n4=\toQJwt7FWWuUcu9czilqqwSZeKZ1sdE5PDSQ30LtHAE0=\t51999\t0x42\n"
            + "M9di7pYklXkPWrs/CE+/vWi01M5uhLRSZtTCw+uf+jA=\t(none)\t198.18.0.1:51820\t10.0.0.0/24,fd00::/64"
            + "\t1700000000\t148\t92\t25\n"
            + "rvcSjHlYsWp4lWJzfStGFf5Jw14Ah2+uPcMK+OaZ32Y=\t(none)\t(none)\t(none)\t0\t0\t0\toff\n";

    @Test
    void parsesDeviceAndPeers() throws Exception {
        Device d = WgCommandBackend.parseDump("npw0", DUMP);
        assertEquals(Key.fromBase64("wFQtgUv+zBeX+j4sOxLovgLZGuo2Q08K1Ut+he2z8n4="), d.privateKey().orElseThrow());
        assertEquals(Key.fromBase64("oQJwt7FWWuUcu9czilqqwSZeKZ1sdE5PDSQ30LtHAE0="), d.publicKey().orElseThrow());
        assertEquals(51999, d.listenPort());
        assertEquals(0x42, d.fwmark());
        Peer a = d.peers().get(0);
        assertEquals(new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820), a.endpoint().orElseThrow());
        assertEquals(List.of(AllowedIp.parse("10.0.0.0/24"), AllowedIp.parse("fd00::/64")), a.allowedIps());
        assertEquals(Instant.ofEpochSecond(1_700_000_000L), a.latestHandshake().orElseThrow());
        assertEquals(148, a.rxBytes());
        assertEquals(92, a.txBytes());
        assertEquals(25, a.persistentKeepaliveSeconds());
        Peer b = d.peers().get(1);
        assertTrue(b.endpoint().isEmpty());
        assertTrue(b.allowedIps().isEmpty());
        assertTrue(b.latestHandshake().isEmpty());
        assertEquals(0, b.persistentKeepaliveSeconds());
    }

    @Test
    void deviceWithoutKeyOrPeers() throws Exception {
        Device d = WgCommandBackend.parseDump("npw0", "(none)\t(none)\t0\toff\n");
        assertTrue(d.privateKey().isEmpty());
        assertTrue(d.publicKey().isEmpty());
        assertEquals(0, d.fwmark());
        assertTrue(d.peers().isEmpty());
    }

    @Test
    void malformedDumpIsProtocolError() {
        for (String bad : List.of("", "a\tb\n", "(none)\t(none)\t0\toff\nx\ty\n", "(none)\t(none)\tport\toff\n",
                "(none)\t(none)\t0\t0xZZ\n")) {
            assertEquals(WireguardException.Kind.PROTOCOL,
                    assertThrows(WireguardException.class, () -> WgCommandBackend.parseDump("npw0", bad), bad).kind());
        }
    }

    @Test
    void setArgumentsUseOffForZero() throws Exception {
        Key k = Key.fromBase64("M9di7pYklXkPWrs/CE+/vWi01M5uhLRSZtTCw+uf+jA=");
        assertEquals(List.of("set", "npw0", "peer", k.toBase64(), "endpoint", "[fd00::7]:1", "persistent-keepalive",
                        "off"),
                WgCommandBackend.setArguments("npw0", List.of(PeerUpdate.builder(k)
                        .endpoint(new InetSocketAddress(InetAddress.getByName("fd00::7"), 1))
                        .persistentKeepaliveSeconds(0).build())));
    }

    @Test
    void setArgumentsOfSeveralUpdatesNameEachPeerInOrder() throws Exception {
        Key k = Key.fromBase64("M9di7pYklXkPWrs/CE+/vWi01M5uhLRSZtTCw+uf+jA=");
        Key j = Key.fromBytes(new byte[32]);
        assertEquals(List.of("set", "npw0", "peer", k.toBase64(), "persistent-keepalive", "off",
                        "peer", k.toBase64(), "persistent-keepalive", "25", "peer", j.toBase64(), "endpoint", "198.18.0.8:2"),
                WgCommandBackend.setArguments("npw0", List.of(
                        PeerUpdate.builder(k).persistentKeepaliveSeconds(0).build(),
                        PeerUpdate.builder(k).persistentKeepaliveSeconds(25).build(),
                        PeerUpdate.builder(j).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.8"), 2))
                                .build())));
    }

    @Test
    void stderrMapsToKinds() {
        List<String> cmd = List.of("wg", "show", "npw0", "dump");
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE,
                WgCommandBackend.mapFailure("npw0", cmd, 1, "Unable to access interface: No such device").kind());
        WireguardException perm = WgCommandBackend.mapFailure("npw0", cmd, 1,
                "Unable to modify interface: Operation not permitted");
        assertEquals(WireguardException.Kind.PERMISSION_DENIED, perm.kind());
        assertTrue(perm.getMessage().contains("CAP_NET_ADMIN"), perm.getMessage());
        assertEquals(WireguardException.Kind.NOT_WIREGUARD,
                WgCommandBackend.mapFailure("lo", cmd, 1, "Unable to access interface: Operation not supported").kind());
        assertEquals(WireguardException.Kind.PROTOCOL,
                WgCommandBackend.mapFailure("npw0", cmd, 1, "something new").kind());
    }

    @Test
    void missingWgBinaryIsNoBackend() {
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.wgCommand(Path.of("/nonexistent/npw/wg")).device("npw0"));
        assertEquals(WireguardException.Kind.NO_BACKEND, e.kind());
        assertTrue(e.getMessage().contains("install wireguard-tools"), e.getMessage());
    }
}
