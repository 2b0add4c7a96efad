package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backend choice, with the socket directory pointed at a temporary one. */
class AutomaticBackendTest {
    @TempDir
    Path dir;

    private AutomaticBackend automatic(boolean netlinkUsable) {
        return new AutomaticBackend(List.of(dir), NetlinkBackend::new, () -> netlinkUsable,
                new WgCommandBackend(Path.of("wg")));
    }

    @Test
    void socketPresentMeansUapi() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(dir.resolve("npwa0.sock")));
            assertEquals("uapi", automatic(true).select("npwa0").backendName());
            assertEquals("uapi", automatic(false).select("npwa0").backendName());
        }
    }

    @Test
    void noSocketMeansNetlinkOrElseWg() {
        assertEquals("netlink", automatic(true).select("npwa1").backendName());
        assertEquals("wg", automatic(false).select("npwa1").backendName());
    }

    @Test
    void nothingAnywhereIsNoBackendWithInstallAdvice() {
        assumeFalse(Files.exists(Path.of("/sys/module/wireguard")), "covers the machine without the kernel module");
        WireguardException e = assertThrows(WireguardException.class, () -> automatic(true).device("npwa2"));
        assertEquals(WireguardException.Kind.NO_BACKEND, e.kind());
        assertTrue(e.getMessage().contains("install wireguard-tools/wireguard-go or load the kernel module"),
                e.getMessage());
    }
}
