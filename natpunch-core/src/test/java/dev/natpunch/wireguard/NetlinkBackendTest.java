package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.natpunch.crypto.KeyPair;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The netlink backend against the real kernel of this machine. The kernel WireGuard module is
 * absent here and in CI, so only the "module not loaded" path can run for real: nlctrl answers
 * ENOENT for the family "wireguard". Everything a loaded module would answer is covered byte by
 * byte in {@link NetlinkMessagesTest}.
 */
class NetlinkBackendTest {
    private static void assumeModuleAbsent() {
        assumeFalse(Files.exists(Path.of("/sys/module/wireguard")),
                "the wireguard kernel module is loaded here; this test covers the machine without it");
    }

    @Test
    void moduleNotLoadedIsNoBackendWithAdvice() {
        assumeModuleAbsent();
        WireguardException e = assertThrows(WireguardException.class, () -> WireguardControl.netlink().device("npw0"));
        assertEquals(WireguardException.Kind.NO_BACKEND, e.kind());
        assertTrue(e.getMessage().contains("modprobe wireguard"), e.getMessage());
        assertTrue(e.getMessage().contains("install wireguard-tools/wireguard-go"), e.getMessage());
        assertEquals("netlink", WireguardControl.netlink().backendName());
    }

    @Test
    void updateWithoutModuleIsNoBackendToo() {
        assumeModuleAbsent();
        PeerUpdate update = PeerUpdate.builder(KeyPair.generate().publicKey()).persistentKeepaliveSeconds(25).build();
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.netlink().updatePeer("npw0", update));
        assertEquals(WireguardException.Kind.NO_BACKEND, e.kind());
    }

    @Test
    void netlinkItselfIsReachableThroughJna() {
        assertTrue(NetlinkBackend.usable(), "JNA should load and a NETLINK_GENERIC socket should open on Linux");
    }
}
