package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.time.Duration;
import java.util.Optional;

/**
 * Creates, refreshes and ends the relay allocations of pairs of clients: what the rendezvous
 * server calls when an authenticated client sends RELAY ({@code docs/protocol-v2.md} 6.7). The
 * caller has authenticated {@code requester} and decided that it may see {@code peer}; a peer it
 * may not see must get the answer an unknown peer gets (PENDING), without calling this.
 *
 * <p>Implementations are thread-safe.
 */
public interface RelayAllocator {

    /**
     * Records {@code requester}'s wish to be relayed to {@code peer}. Once the peer has asked for
     * the requester too, the pair's allocation exists and both get {@link AllocationResult.Status#READY}
     * with their own endpoint and bind token. Idempotent: on a ready pair it refreshes the idle
     * timeout and returns the requester's current token, or a new one if the current one has
     * been used for a bind (which is how a roaming client re-binds from a new address).
     *
     * @param family the address family the requester reaches the rendezvous server with; its
     *     side of the relay faces that family. Ignored on a pair that is already ready.
     * @return READY, PENDING (this side is recorded; also the answer while the peer has not
     *     asked) or UNAVAILABLE (the relay has no address of that family, the requester's quota
     *     or the relay's capacity is used up, the requester asked for itself, or the relay is
     *     not running)
     */
    AllocationResult allocate(Key requester, Key peer, StandardProtocolFamily family);

    /**
     * Ends the pair's allocation (both sides; its ports are closed at once) and forgets the
     * requester's pending request for the peer. Doing so for a pair that has neither is fine.
     */
    void release(Key requester, Key peer);

    /**
     * The relay endpoint facing {@code client} of the pair ({@code client}, {@code peer}) if the
     * pair's allocation is ready: what the rendezvous server shows {@code client} as the peer's
     * relay endpoint in lookup results and pushes. Carries no token.
     */
    Optional<InetSocketAddress> endpointFacing(Key client, Key peer);

    /**
     * How long a PENDING request is kept: the lifetime a caller puts in the PENDING answer it
     * gives without asking the allocator (a peer the requester may not see), so that the answer
     * is the same as for a peer that has not asked yet.
     */
    Duration pendingLifetime();
}
