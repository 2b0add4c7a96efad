package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Collection;

/**
 * A {@link Relay} that rendezvous servers on other hosts drive over the network: what
 * {@code natpunch relay} runs. It listens on a UDP control port for the relay control channel
 * ({@code docs/protocol-v2.md} 6.9), a Noise IK session per server under the channel's own
 * prologue, and accepts sessions only from the listed server keys. Each server's
 * {@link RemoteRelay} then asks it for allocations, which the relay makes, forwards and expires
 * exactly as an embedded one does; it tells every connected server when an allocation ends.
 *
 * <pre>{@code
 * try (Relay relay = Relay.builder().address(InetAddress.getByName("203.0.113.9")).build();
 *      RelayControlServer control = RelayControlServer.builder()
 *              .relay(relay)
 *              .keyPair(relayKeys)
 *              .listen(new InetSocketAddress(3479))
 *              .allowServer(rendezvousServerPublicKey)
 *              .build()) {
 *     relay.start();
 *     control.start();
 *     ...
 * }
 * }</pre>
 *
 * <p>Bounds: one session per listed server key (a new handshake replaces the old session), a
 * session silent for 60 s is forgotten, handshakes are limited to 20 a second in total (each
 * costs Diffie-Hellman work before the key is known), and at most 4096 end notices wait to be
 * sent. One thread serves the control port; the relay's own threads forward.
 */
public interface RelayControlServer extends AutoCloseable {

    /** The default control port of {@code natpunch relay}. */
    int DEFAULT_PORT = 3479;

    static Builder builder() {
        return new UdpRelayControlServer.BuilderImpl();
    }

    /**
     * Binds the control port and starts serving it. The relay must have been started (or is
     * started by the caller before servers ask).
     *
     * @throws IOException if the control address cannot be bound (the message says what to do)
     * @throws IllegalStateException if already started or closed
     */
    void start() throws IOException;

    /** The bound control address (the port chosen when 0 was given); after {@link #start()}. */
    InetSocketAddress localAddress();

    /** The relay's public key, which servers configure as the relay's key. */
    Key publicKey();

    /** Stops serving the control port and forgets every session; the relay itself is the caller's. Idempotent. */
    @Override
    void close();

    /** Configures a {@link RelayControlServer}. Not thread-safe. */
    interface Builder {
        /** The relay to drive: one made by {@link Relay#builder()}, whose life the caller manages. Required. */
        Builder relay(Relay relay);

        /** The relay's static key pair. Required; the caller keeps it until {@link #close()}. */
        Builder keyPair(KeyPair keys);

        /** Where the control port listens (default: every address, port {@link #DEFAULT_PORT}). */
        Builder listen(InetSocketAddress address);

        /** A rendezvous server key that may open a control session; at least one is required. */
        Builder allowServer(Key serverKey);

        /** {@link #allowServer(Key)} for each key. */
        default Builder allowServers(Collection<Key> serverKeys) {
            serverKeys.forEach(this::allowServer);
            return this;
        }

        /**
         * A new control server, not started.
         *
         * @throws IllegalArgumentException without a relay, a key pair or an allowed server
         */
        RelayControlServer build();
    }
}
