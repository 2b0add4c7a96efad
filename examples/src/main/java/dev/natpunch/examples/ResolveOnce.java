package dev.natpunch.examples;

import dev.natpunch.client.PeerResolver;
import dev.natpunch.client.PeerResult;
import dev.natpunch.client.ResolveReport;
import dev.natpunch.crypto.Key;
import java.time.Duration;

/**
 * Resolves every peer of a WireGuard interface once, as {@code natpunch client} does, and prints
 * the outcome per peer. Needs root (raw socket, WireGuard configuration).
 *
 * <pre>
 * java -cp natpunch-cli/target/natpunch.jar:examples/target/classes \
 *     dev.natpunch.examples.ResolveOnce wg0 rendezvous.example.net 12345 SERVER_PUBLIC_KEY
 * </pre>
 */
public final class ResolveOnce {
    private ResolveOnce() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ResolveOnce IFACE SERVER_HOST SERVER_PORT SERVER_PUBLIC_KEY");
            System.exit(2);
        }
        try (PeerResolver resolver = PeerResolver.builder()
                .interfaceName(args[0])
                .server(args[1], Integer.parseInt(args[2]))
                .serverKey(Key.fromBase64(args[3]))
                .timeout(Duration.ofSeconds(30))
                .verifyHandshake(Duration.ofSeconds(10))
                .build()) {
            ResolveReport report = resolver.resolveAll();
            for (PeerResult peer : report.peers()) {
                System.out.println(peer.peer().toBase64() + " " + peer.status()
                        + peer.endpoint().map(e -> " " + e).orElse("")
                        + peer.error().map(e -> " (" + e + ")").orElse(""));
            }
            System.exit(report.allResolved() ? 0 : 3);
        }
    }
}
