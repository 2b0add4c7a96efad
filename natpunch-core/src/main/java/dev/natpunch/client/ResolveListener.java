package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Progress of a {@link PeerResolver}, called on the resolver's thread. Every method has an empty
 * default, so a listener implements only what it shows. A listener must not block.
 */
public interface ResolveListener {

    /** A Noise handshake with the rendezvous server succeeded (the server now knows our mapping). */
    default void onServerHandshake(InetSocketAddress server) {
    }

    /** One peer reached a new state. */
    default void onPeer(PeerResult result) {
    }

    /**
     * A server pushed a change of a peer's endpoints (version 2); the resolver applies it right
     * after this call, and reports the outcome through {@link #onPeer}.
     *
     * @param endpoints what the server now knows, best first; empty when the peer is gone
     */
    default void onPush(Key peer, List<PeerEndpoint> endpoints) {
    }

    /** Something failed that the resolver will retry (server unreachable, WireGuard busy...). */
    default void onRetry(String what, Exception cause) {
    }
}
