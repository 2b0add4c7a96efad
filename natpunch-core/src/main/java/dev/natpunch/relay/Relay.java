package dev.natpunch.relay;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;

/**
 * A UDP relay for pairs of WireGuard peers, embeddable like the rendezvous server and driven by
 * it through {@link RelayAllocator}.
 *
 * <pre>{@code
 * try (Relay relay = Relay.builder()
 *         .address(InetAddress.getByName("203.0.113.7"))
 *         .portRange(40000, 40999)
 *         .build()) {
 *     relay.start();
 *     AllocationResult r = relay.allocate(alice, bob, StandardProtocolFamily.INET);  // PENDING
 *     ...                                                  // bob asks too: both get READY
 * }
 * }</pre>
 *
 * <p><b>What it does.</b> When both clients of a pair have asked to be relayed to each other, the
 * relay opens two UDP ports from its range, one facing each client (of that client's address
 * family, so an IPv4 peer can be joined to an IPv6 peer). Each client sends the 20-byte bind
 * datagram (type 6 with its secret token) from its WireGuard port to its relay port; the relay
 * learns the client's address and port from the first one with the side's current token, and
 * from then on forwards every datagram from that address to the other side's learned address,
 * from the other side's port, unchanged. The client points WireGuard's endpoint for the peer at
 * its relay port; the peer's WireGuard sees the datagrams come from its own relay port. The relay
 * holds no keys, decrypts nothing, and never answers a datagram.
 *
 * <p><b>Who may use a port.</b> Only the learned address: everything else that reaches a relay
 * port is dropped, except a bind datagram with the side's current, unused token. A token binds
 * once; a client that has moved (NAT rebinding, roaming) gets a fresh token with another
 * {@link #allocate} over its authenticated session and binds again from the new address. A token
 * seen on the path is therefore worthless, and a third client, which never gets either token,
 * can neither use nor take over the pair's ports.
 *
 * <p><b>Bounds.</b> Allocations end after {@link Builder#idleTimeout} (default 90 s) without
 * forwarded traffic, a bind or a refresh, and their ports return to the range. Pending requests
 * (one side asked) are kept for {@link Builder#pendingLifetime} (default 30 s). Allocations are
 * capped in total ({@link Builder#maxAllocations}, also by the port range: two ports each) and
 * per client ({@link Builder#maxAllocationsPerClient}, default 8, pending requests included);
 * pending requests in total ({@link Builder#maxPending}). Each allocation's forwarded bytes (both
 * directions together) pass a token bucket ({@link Builder#bandwidthLimit}); excess datagrams are
 * dropped. Hostile datagrams cost an address comparison or a 16-byte comparison and are counted
 * in {@link RelayMetrics#drops()}.
 *
 * <p><b>Threads.</b> {@link #start()} starts {@link Builder#workerThreads} forwarding threads (each
 * serves its share of the allocations through one selector) and a daemon sweeper; {@link #close()}
 * ends them. Logging (slf4j, logger {@code dev.natpunch.relay.Relay}): start and stop at INFO,
 * allocations, binds and expiry at DEBUG.
 *
 * <p>Implementations are thread-safe.
 */
public interface Relay extends RelayAllocator, AutoCloseable {

    /** Default time an allocation lives without forwarded traffic: above three WireGuard keepalives (25 s). */
    Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(90);
    /** Default time a one-sided request is kept; clients repeat it every second or so while waiting. */
    Duration DEFAULT_PENDING_LIFETIME = Duration.ofSeconds(30);
    /** Default port range, as {@code natpunch server --relay} uses it. */
    int DEFAULT_FIRST_PORT = 40000;
    int DEFAULT_LAST_PORT = 40999;
    /** Default cap on allocations and pending requests per client. */
    int DEFAULT_MAX_PER_CLIENT = 8;
    /** Default cap on pending requests in total. */
    int DEFAULT_MAX_PENDING = 65_536;
    /** Default bandwidth limit per allocation: 100 Mbit/s. */
    long DEFAULT_BYTES_PER_SECOND = 12_500_000;
    /** Default burst per allocation: a quarter of a second at the default rate. */
    long DEFAULT_BURST_BYTES = DEFAULT_BYTES_PER_SECOND / 4;

    /** A builder with the defaults above; at least one {@link Builder#address} is required. */
    static Builder builder() {
        return new RelayBuilder();
    }

    /**
     * Checks that every configured address can be bound and starts the threads. Ports are opened
     * only when allocations are made. May be called once.
     *
     * @throws IOException if an address cannot be bound (the message names it and says what to do)
     * @throws IllegalStateException if already started or closed
     */
    void start() throws IOException;

    /** A snapshot of the counters. */
    RelayMetrics metrics();

    /** Ends every allocation, closes every port and ends the threads. Idempotent. */
    @Override
    void close();

    /** Configures a {@link Relay}. Not thread-safe. */
    interface Builder {
        /**
         * Adds an address to bind relay ports on, which is also the address clients are told. At
         * most one per address family; the wildcard address needs {@link #address(InetAddress, InetAddress)}.
         */
        Builder address(InetAddress address);

        /**
         * Adds an address to bind relay ports on ({@code bind}, may be the wildcard of its family)
         * and the address clients are told to send to ({@code advertised}, of the same family):
         * for a host behind a 1:1 NAT, as many cloud machines are, or bound to every address.
         */
        Builder address(InetAddress bind, InetAddress advertised);

        /** The UDP ports allocations use, {@code first..last} inclusive, 1..65535; default 40000-40999. */
        Builder portRange(int first, int last);

        /** How long an allocation lives without forwarded traffic, a bind or a refresh; 1 s to 18 h. */
        Builder idleTimeout(Duration timeout);

        /** How long a one-sided request is kept; 1 s to 18 h. */
        Builder pendingLifetime(Duration lifetime);

        /** Cap on allocations at once (also bounded by half the port range). Default: half the port range. */
        Builder maxAllocations(int max);

        /** Cap on the allocations and pending requests one client key takes part in. At least 1. */
        Builder maxAllocationsPerClient(int max);

        /** Cap on pending requests in total. At least 1. */
        Builder maxPending(int max);

        /**
         * Limits each allocation to {@code bytesPerSecond} of forwarded UDP payload (both directions
         * together) on average, with bursts of up to {@code burstBytes}; 0 for both turns it off.
         */
        Builder bandwidthLimit(long bytesPerSecond, long burstBytes);

        /** Forwarding threads. Default: one per core, at most 2. */
        Builder workerThreads(int threads);

        /** Clock for idle timeouts, pending lifetimes and the bandwidth limit (tests inject one). */
        Builder clock(Clock clock);

        /**
         * A new, not yet started relay.
         *
         * @throws IllegalArgumentException without an address, with two of one family, or a
         *     wildcard address without an advertised one
         */
        Relay build();
    }
}
