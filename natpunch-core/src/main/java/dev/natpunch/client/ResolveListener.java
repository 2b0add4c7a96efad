package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;

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

    /** Something failed that the resolver will retry (server unreachable, WireGuard busy...). */
    default void onRetry(String what, Exception cause) {
    }
}
