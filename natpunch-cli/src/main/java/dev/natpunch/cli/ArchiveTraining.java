package dev.natpunch.cli;

import dev.natpunch.client.PeerResolver;
import dev.natpunch.client.RendezvousClient;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.UdpTransport;
import dev.natpunch.wireguard.WireguardControl;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * The training run of {@code bin/natpunch}'s class-data archive ({@code java
 * -XX:ArchiveClassesAtExit=FILE -cp natpunch.jar dev.natpunch.cli.ArchiveTraining}): walks the
 * client's start-up path, so that the archive holds the classes a real {@code natpunch client}
 * loads before its first datagram, without touching WireGuard or sending anything beyond a
 * loopback socket of its own. The command line is parsed as for a client run, logging starts,
 * a resolver fails to find an interface in an empty directory, a rendezvous handshake goes
 * unanswered by a silent local socket, the capabilities are checked and dropped on a thread of
 * its own, and the raw socket's binding to libc loads. Prints nothing; the exit status is 0 when every step ran.
 */
public final class ArchiveTraining {
    private static final Duration SHORT = Duration.ofMillis(300);

    private ArchiveTraining() {
    }

    public static void main(String[] args) throws Exception {
        KeyPair server = KeyPair.generate();
        String serverKey = server.publicKey().toBase64();
        Main.commandLine("client", "wg0", "127.0.0.1:9", serverKey)
                .parseArgs("client", "-c", "--delay", "1", "wg0", "127.0.0.1:9", serverKey);
        LoggerFactory.getLogger(ArchiveTraining.class).debug("training the class-data archive");

        Path empty = Files.createTempDirectory("natpunch-training");
        try (PeerResolver resolver = PeerResolver.builder()
                .interfaceName("np-training0")
                .server("127.0.0.1", 9)
                .serverKey(server.publicKey())
                .wireguard(WireguardControl.uapi(empty))
                .timeout(SHORT)
                .build()) {
            resolver.resolveAll();
            throw new IllegalStateException("a resolver found an interface in an empty directory");
        } catch (IOException expected) {
            // No such interface: the resolver's classes and the UAPI backend's are loaded.
        } finally {
            Files.delete(empty);
        }

        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             RendezvousClient client = RendezvousClient.builder(KeyPair.generate(), server.publicKey(),
                             UdpTransport.open((InetSocketAddress) silent.getLocalSocketAddress()))
                     .responseTimeout(SHORT)
                     .build()) {
            client.lookupAll(List.of(KeyPair.generate().publicKey()));
            throw new IllegalStateException("a silent socket answered a handshake");
        } catch (IOException expected) {
            // Unanswered: the handshake with the version 2 offer was encoded and sent.
        }

        try {
            // On a thread of its own, which alone drops its capabilities; this process ends next.
            ClientPrivileges.callWithLeastPrivilege("uapi", "np-training0", () -> null);
        } catch (IOException notRoot) {
            // The capability check ran; the client itself needs root anyway.
        }
        ClassLoader loader = ArchiveTraining.class.getClassLoader();
        Class.forName("dev.natpunch.net.RawUdpTransport", true, loader);
        Class.forName("dev.natpunch.net.LinuxLibc", true, loader);
    }
}
