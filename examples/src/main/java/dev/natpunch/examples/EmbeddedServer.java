package dev.natpunch.examples;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.server.RendezvousServer;
import dev.natpunch.server.ServerListener;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * Runs a rendezvous server inside an application, with its own listener and metrics.
 *
 * <pre>
 * java -cp natpunch-cli/target/natpunch.jar:examples/target/classes \
 *     dev.natpunch.examples.EmbeddedServer 12345 "$(cat server.key)"
 * </pre>
 */
public final class EmbeddedServer {
    private EmbeddedServer() {
    }

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 12345;
        KeyPair keys = args.length > 1 ? KeyPair.fromPrivateKey(Key.fromBase64(args[1])) : KeyPair.generate();

        ServerListener audit = new ServerListener() {
            @Override
            public void onRegistration(Key client, InetSocketAddress endpoint) {
                System.out.println("registered " + client.toBase64() + " at " + endpoint);
            }

            @Override
            public void onLookup(Key requester, Key target, Optional<InetSocketAddress> found) {
                System.out.println(requester.toBase64() + " asked for " + target.toBase64()
                        + (found.isPresent() ? ": " + found.get() : ": unknown"));
            }
        };

        try (RendezvousServer server = RendezvousServer.builder()
                .port(port)
                .keyPair(keys)
                .registrationTtl(Duration.ofMinutes(10))
                .maxRegistrations(10_000)
                .listener(audit)
                .build()) {
            server.start();
            System.out.println("Public key: " + server.publicKey().toBase64());
            while (true) {
                Thread.sleep(60_000);
                System.out.println(server.metrics());
            }
        }
    }
}
