package dev.natpunch.relay;

/** Why the relay dropped a datagram that reached one of its ports. */
public enum RelayDropReason {
    /** Not from the side's learned address, and not a bind datagram: a stranger, or a client before its bind. */
    UNKNOWN_SOURCE,
    /** A bind datagram (type 6) that is malformed, or whose token is not the side's current unused one. */
    BIND_REJECTED,
    /** From the learned address, but the other side has not bound yet, so there is nowhere to send it. */
    PEER_NOT_BOUND,
    /** Over the allocation's bandwidth limit. */
    BANDWIDTH_EXCEEDED,
    /** The socket would not take the forwarded datagram (send buffer full, or an error). */
    SEND_FAILED,
    /** A bug: processing threw an unexpected exception. The relay keeps forwarding; the cause is logged. */
    INTERNAL_ERROR
}
