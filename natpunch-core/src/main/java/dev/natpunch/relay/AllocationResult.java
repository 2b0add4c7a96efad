package dev.natpunch.relay;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The answer to {@link RelayAllocator#allocate}: what a RELAY_RESULT carries
 * ({@code docs/protocol-v2.md} 6.7). Immutable.
 */
public final class AllocationResult {
    /** Length of a bind token, in bytes. */
    public static final int TOKEN_LENGTH = 16;

    /** The status of the requester's side of the pair. */
    public enum Status {
        /** Both sides asked: the allocation exists; endpoint and token are present. */
        READY,
        /** The requester's side is recorded for {@link #lifetime()}; ask again before it runs out. */
        PENDING,
        /** No relay for this requester (see {@link RelayAllocator#allocate}). */
        UNAVAILABLE
    }

    private static final AllocationResult UNAVAILABLE = new AllocationResult(Status.UNAVAILABLE, Duration.ZERO, null, null);

    private final Status status;
    private final Duration lifetime;
    private final InetSocketAddress endpoint;
    private final byte[] token;

    private AllocationResult(Status status, Duration lifetime, InetSocketAddress endpoint, byte[] token) {
        this.status = status;
        this.lifetime = lifetime;
        this.endpoint = endpoint;
        this.token = token;
    }

    static AllocationResult ready(Duration idleTimeout, InetSocketAddress endpoint, byte[] token) {
        if (token.length != TOKEN_LENGTH) {
            throw new IllegalArgumentException("a bind token is " + TOKEN_LENGTH + " bytes");
        }
        return new AllocationResult(Status.READY, idleTimeout, Objects.requireNonNull(endpoint), token.clone());
    }

    static AllocationResult pending(Duration lifetime) {
        return new AllocationResult(Status.PENDING, lifetime, null, null);
    }

    static AllocationResult unavailable() {
        return UNAVAILABLE;
    }

    public Status status() {
        return status;
    }

    /**
     * READY: the idle timeout (the allocation ends after this long without forwarded traffic or a
     * refresh); PENDING: how long the request is kept; UNAVAILABLE: zero.
     */
    public Duration lifetime() {
        return lifetime;
    }

    /** READY only: the relay's address and port facing the requester, where it sends its bind datagram and WireGuard traffic. */
    public Optional<InetSocketAddress> endpoint() {
        return Optional.ofNullable(endpoint);
    }

    /**
     * READY only: a copy of the 16-byte bind token, secret to the requester.
     *
     * @throws IllegalStateException for any other status
     */
    public byte[] token() {
        if (token == null) {
            throw new IllegalStateException("a " + status + " result has no token");
        }
        return token.clone();
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return status == Status.READY
                ? "READY " + endpoint + " for " + lifetime.toSeconds() + " s"
                : status + (status == Status.PENDING ? " for " + lifetime.toSeconds() + " s" : "");
    }
}
