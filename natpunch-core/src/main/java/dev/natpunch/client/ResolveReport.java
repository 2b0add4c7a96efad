package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What one {@link PeerResolver#resolveAll()} did, peer by peer, in the interface's peer order.
 * Immutable.
 *
 * @param interfaceName the WireGuard interface
 * @param peers one result per peer of the interface
 */
public record ResolveReport(String interfaceName, List<PeerResult> peers) {

    public ResolveReport {
        peers = List.copyOf(peers);
    }

    /** How many peers ended in each status. */
    public Map<PeerStatus, Long> counts() {
        return peers.stream()
                .collect(Collectors.groupingBy(PeerResult::status, Collectors.counting()));
    }

    /** Whether every peer has an endpoint and none is known to be unreachable. */
    public boolean allResolved() {
        return peers.stream()
                .allMatch(p -> p.hasEndpoint() && p.status() != PeerStatus.NO_HANDSHAKE);
    }

    /** The results by peer key. */
    public Map<Key, PeerResult> byPeer() {
        return peers.stream().collect(Collectors.toMap(PeerResult::peer, Function.identity()));
    }
}
