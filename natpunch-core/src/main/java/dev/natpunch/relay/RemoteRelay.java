package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;

/**
 * A relay on another host, as the rendezvous server sees it: a {@link RelayAllocator} that asks a
 * {@link RelayControlServer} ({@code natpunch relay}) over the relay control channel
 * ({@code docs/protocol-v2.md} 6.9), a Noise IK session to the relay's static key under the
 * channel's own prologue, authenticated with the server's own key pair.
 *
 * <pre>{@code
 * try (RemoteRelay relay = RemoteRelay.builder()
 *         .relay(new InetSocketAddress("relay.example.net", 3479), relayPublicKey)
 *         .keyPair(serverKeys)
 *         .build();
 *      RendezvousServer server = RendezvousServer.builder().keyPair(serverKeys).relay(relay).build()) {
 *     relay.start();
 *     server.start();
 * }
 * }</pre>
 *
 * <p><b>Never waits.</b> {@link #allocate} answers at once from what the relay said last: it
 * passes each request on to the relay (at most one every 250 ms per side of a pair) and answers
 * PENDING until the relay's answer is in; clients repeat ALLOCATE about every second while they
 * wait, and the next repeat gets it. A READY answer is given once per token: a client that asks
 * again for a pair it already got (a lost answer, or a re-bind after its NAT mapping changed)
 * gets PENDING once and then whatever token the relay hands out by then, which is a fresh one if
 * the old one has bound.
 *
 * <p><b>When the relay is away.</b> Until the first handshake completes, and from 5 s without an
 * answer to the pings sent every second, every {@link #allocate} is UNAVAILABLE (clients keep
 * trying their direct paths) and handshakes are retried with backoff up to 4 s; once the relay
 * answers again, everything works as before. The relay's allocations outlive such an outage on
 * the relay's side; this side forgets what it knew and asks again.
 *
 * <p><b>Bounds.</b> At most {@link Builder#maxEntries} sides of pairs (default 65 536) and
 * {@link Builder#maxEntriesPerClient} per requesting client (default 64) are tracked; beyond that,
 * UNAVAILABLE. A side without requests is forgotten after 30 s (pending) or an hour (ready), or as
 * soon as the relay says its allocation ended. At most 4096 releases await the relay's
 * acknowledgement (three sends each).
 *
 * <p>Thread-safe; one daemon thread runs the channel.
 */
public interface RemoteRelay extends RelayAllocator, AutoCloseable {

    static Builder builder() {
        return new UdpRemoteRelay.BuilderImpl();
    }

    /**
     * Opens the socket and starts talking to the relay; returns at once, whether or not the relay
     * answers.
     *
     * @throws IOException if the relay's name does not resolve or no socket can be opened
     * @throws IllegalStateException if already started or closed
     */
    void start() throws IOException;

    /** Whether a control session with the relay is up: it answered within the last 5 s. */
    boolean isConnected();

    /** Ends the session (the relay's allocations live on until idle) and the thread. Idempotent. */
    @Override
    void close();

    /** Configures a {@link RemoteRelay}. Not thread-safe. */
    interface Builder {
        /** The relay's control address ({@code natpunch relay}'s PORT) and its public key. Required. */
        Builder relay(InetSocketAddress control, Key relayPublicKey);

        /**
         * This server's key pair, which the relay must list ({@code natpunch relay --allow-server});
         * normally the rendezvous server's own. Required; the caller keeps it until {@link #close()}.
         */
        Builder keyPair(KeyPair keys);

        /** Cap on sides of pairs tracked at once; at least 2. */
        Builder maxEntries(int max);

        /** Cap on sides of pairs one client key asks for at once; at least 1. */
        Builder maxEntriesPerClient(int max);

        /** Clock for timers and handshake timestamps (tests inject one). */
        Builder clock(Clock clock);

        /**
         * A new remote relay, not started.
         *
         * @throws IllegalArgumentException without the relay or the key pair
         */
        RemoteRelay build();
    }
}
