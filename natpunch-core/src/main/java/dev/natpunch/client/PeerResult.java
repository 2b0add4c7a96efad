package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome for one peer of a WireGuard interface. Immutable.
 *
 * @param peer the peer's public key
 * @param status where the peer stands
 * @param endpoint the endpoint the peer now has, if any
 * @param error why it failed, for {@link PeerStatus#ERROR} (and a hint for {@link
 *     PeerStatus#NO_HANDSHAKE})
 */
public record PeerResult(
        Key peer, PeerStatus status, Optional<InetSocketAddress> endpoint, Optional<String> error) {

    public PeerResult {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(error, "error");
    }

    static PeerResult of(Key peer, PeerStatus status, InetSocketAddress endpoint) {
        return new PeerResult(peer, status, Optional.ofNullable(endpoint), Optional.empty());
    }

    static PeerResult failed(Key peer, PeerStatus status, InetSocketAddress endpoint, String why) {
        return new PeerResult(peer, status, Optional.ofNullable(endpoint), Optional.of(why));
    }

    /** Whether the peer has a direct endpoint (set now or confirmed earlier). */
    public boolean hasEndpoint() {
        return status == PeerStatus.CONNECTED
                || status == PeerStatus.RESOLVED
                || status == PeerStatus.ALREADY_CONNECTED
                || status == PeerStatus.NO_HANDSHAKE
                || status == PeerStatus.RELAYED;
    }
}
