package dev.natpunch.client;

/** Where a peer stands after {@link PeerResolver} dealt with it. */
public enum PeerStatus {
    /** The endpoint was set and a WireGuard handshake newer than the change has been seen. */
    CONNECTED,
    /** The endpoint was set; no handshake was waited for (verification off). */
    RESOLVED,
    /**
     * The endpoint was set, but no WireGuard handshake followed within the verification time: a
     * direct path is unlikely, typically because a NAT on the way maps per destination
     * (symmetric NAT), or because the peer has not set our endpoint yet.
     */
    NO_HANDSHAKE,
    /** The peer already had a recent handshake on another endpoint; it was left as it is. */
    ALREADY_CONNECTED,
    /**
     * No direct path worked, so the peer's endpoint is a relay port that forwards WireGuard's
     * (end-to-end encrypted) datagrams; a direct path is tried again from time to time.
     */
    RELAYED,
    /** The rendezvous server does not know the peer (it has not registered yet). */
    NOT_FOUND,
    /** Resolving or applying failed; {@link PeerResult#error()} says why. */
    ERROR
}
