package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * Observes a {@link RendezvousServer}. Callbacks run on the server's worker threads, concurrently
 * with each other, and must return quickly; an exception thrown by a callback is logged and
 * otherwise ignored. Without a listener, the lookup path allocates nothing; with one, each lookup
 * allocates the {@link Key} and {@link Optional} passed to {@link #onLookup}.
 */
public interface ServerListener {

    /** A client completed a handshake; {@code endpoint} is its address as the server sees it. */
    default void onRegistration(Key client, InetSocketAddress endpoint) {
    }

    /**
     * A client asked for a peer. {@code found} is empty when the peer is not registered, its
     * registration expired, or it is registered from an IPv6 address (version 1 answers carry
     * IPv4 only).
     */
    default void onLookup(Key requester, Key target, Optional<InetSocketAddress> found) {
    }

    /** A datagram was dropped; {@code source} is its sender. */
    default void onDrop(DropReason reason, InetSocketAddress source) {
    }
}
