package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.relay.RelayAllocator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * A rendezvous server over UDP, wire-compatible with natpunch-go's server (protocol version 1):
 * clients authenticate with a Noise IK handshake using their WireGuard key, which registers
 * the address and port the server sees them at; they then ask, by public key, where a peer is.
 * Clients that offer protocol version 2 in the handshake ({@code docs/protocol-v2.md}) also get
 * batch lookups of all of a peer's endpoints (IPv4, IPv6, local candidates), registration of
 * several address families and candidates, and the server's addresses (INFO); every other client
 * is answered in version 1, byte for byte.
 *
 * <pre>{@code
 * try (RendezvousServer server = RendezvousServer.builder().port(12345).keyPair(keys).build()) {
 *     server.start();
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Addresses.</b> Without {@link Builder#bindAddress} the server binds the wildcard address,
 * which is dual-stack (IPv4 and IPv6) where the system allows it. IPv4 clients reaching it through
 * an IPv6 socket (IPv4-mapped addresses) are treated as IPv4. Version 1 answers can only carry an
 * IPv4 address, so a peer registered from a genuine IPv6 address is answered as "not found".
 *
 * <p><b>Bounds.</b> Every table is bounded so that a flood of spoofed or hostile datagrams cannot
 * exhaust memory: registrations expire after {@link Builder#registrationTtl} without a handshake or
 * lookup from their client (default 30 minutes) and are capped ({@link Builder#maxRegistrations},
 * default 1,000,000, about 150 bytes each, more with an IPv6 endpoint or local candidates);
 * sessions expire {@link Builder#sessionTtl} after their handshake (default 10 minutes; clients
 * re-handshake every 5) and are capped
 * ({@link Builder#maxSessions}, default 100,000, about 400 bytes each). On a small heap the default
 * caps are lowered so that full tables take at most a quarter (registrations) and a sixteenth
 * (sessions) of the JVM's maximum heap. When a table is full, expired entries are purged; if that
 * is not enough, a new session takes the place of the oldest session that has not carried a
 * request yet, and a new key that of a key that never sent one (what a handshake flood from random
 * keys leaves behind; {@link ServerMetrics#sessionsEvicted()}). Only when none is left is the new
 * client refused (the handshake is dropped and counted as {@link DropReason#REGISTRATIONS_FULL} or
 * {@link DropReason#SESSIONS_FULL}); a known client's re-handshake replaces its own session and is
 * never refused for room. The last accepted handshake timestamp of a client (replay protection)
 * lives as long as its registration.
 *
 * <p><b>Logging</b> (slf4j, logger {@code dev.natpunch.server.RendezvousServer}): at INFO the
 * listening address and public key on start, one line per answered lookup in natpunch-go's form
 * {@code <requester> ==> <target>: CONNECTED} (or {@code NOT FOUND}), each key shown as the first
 * 16 characters of its base64 as natpunch-go does, and the stop;
 * registrations and every dropped datagram with its reason at DEBUG.
 *
 * <p><b>Threads.</b> {@link #start()} starts, as non-daemon threads (so a started server keeps the
 * JVM alive until {@link #close()}), one receiving thread per socket, which answers lookups and
 * the other version 2 requests itself, and {@link Builder#workerThreads} handshake threads, which
 * take handshake initiations from a bounded queue (a full queue drops them as
 * {@link DropReason#HANDSHAKE_QUEUE_FULL}); and, as daemons, one sweeper thread and one push
 * thread.
 *
 * <p><b>Rate limit.</b> A handshake costs the server several X25519 operations (about 0.4 ms of
 * CPU), so handshake initiations are limited per source address (an IPv4 address, or an IPv6 /64)
 * by a token bucket checked before any cryptography: by default {@value #DEFAULT_HANDSHAKES_PER_SECOND}
 * per second with bursts of {@value #DEFAULT_HANDSHAKE_BURST} (a client needs one every 5 minutes),
 * see {@link Builder#handshakeRateLimit}. Excess initiations are dropped and counted as
 * {@link DropReason#RATE_LIMITED}. The buckets live in a bounded table (8192 sources; a bucket is
 * forgotten once full again, after burst/rate seconds idle); when it is full, further sources share
 * one overflow bucket, so a flood from many spoofed addresses costs bounded memory and bounded CPU
 * (at most about 8192 / (burst/rate) + rate handshakes per second). Lookups are not rate limited:
 * one costs a hash lookup and one ChaCha20-Poly1305 operation, and only a client with a session
 * gets an answer.
 *
 * <p>Implementations are thread-safe.
 */
public interface RendezvousServer extends AutoCloseable {

    /** Default time a registration lives after its client's last handshake or lookup. */
    Duration DEFAULT_REGISTRATION_TTL = Duration.ofMinutes(30);
    /** Default time a session lives after its handshake. */
    Duration DEFAULT_SESSION_TTL = Duration.ofMinutes(10);
    /** Default cap on registrations (lowered on a small heap, see above). */
    int DEFAULT_MAX_REGISTRATIONS = 1_000_000;
    /** Default cap on sessions (lowered on a small heap, see above). */
    int DEFAULT_MAX_SESSIONS = 100_000;

    /** Default handshake initiations per second per source address. */
    double DEFAULT_HANDSHAKES_PER_SECOND = 20;
    /** Default burst of handshake initiations per source address. */
    int DEFAULT_HANDSHAKE_BURST = 40;

    /** A builder with every default: port 0 (any free port), wildcard address, a fresh key pair. */
    static Builder builder() {
        return new ServerBuilder();
    }

    /**
     * Binds the UDP socket and starts serving. May be called once.
     *
     * @throws IOException if the socket cannot be bound; when the port is taken the message names
     *     the port and says what to do
     * @throws IllegalStateException if already started or closed
     */
    void start() throws IOException;

    /**
     * The address the server is bound to; with port 0 in the builder, this gives the chosen port.
     *
     * @throws IllegalStateException before {@link #start()}
     */
    InetSocketAddress localAddress();

    /**
     * Every primary (rendezvous) address the server is bound to, in the order of
     * {@link Builder#listen}; the first is {@link #localAddress()}. Probe sockets are not listed.
     *
     * @throws IllegalStateException before {@link #start()}
     */
    List<InetSocketAddress> localAddresses();

    /** The server's static public key, which clients need (give it to them out of band). */
    Key publicKey();

    /** A snapshot of the counters. */
    ServerMetrics metrics();

    /**
     * Stops serving, closes the socket and ends every thread the server started, within about a
     * second. Idempotent; safe to call whether or not the server was started.
     */
    @Override
    void close();

    /** Configures a {@link RendezvousServer}. Not thread-safe. */
    interface Builder {
        /** UDP port to listen on, 0..65535; 0 picks a free port. Default 0. */
        Builder port(int port);

        /** Local address to bind; {@code null} (the default) means the dual-stack wildcard. */
        Builder bindAddress(InetAddress address);

        /**
         * Listens on several addresses instead of {@link #port} and {@link #bindAddress}: typically
         * one IPv4 and one IPv6 address (a wildcard IPv6 address, {@code [::]}, already receives
         * IPv4 where the system is dual-stack, so it cannot be combined with an IPv4 address on the
         * same port). Sessions are found by index on every socket, so a version 2 client registers
         * its second family by sending to the other address; INFO lists them all. Port 0 picks a
         * free port per address.
         */
        Builder listen(InetSocketAddress... addresses);

        /**
         * Enables NAT behaviour probing (protocol version 2, feature NAT_PROBE): next to every
         * listen address, a socket on this port answers PROBE requests, so that clients can tell
         * endpoint-independent from symmetric mappings and see whether their NAT preserves ports.
         * It must differ from every rendezvous port. 0 (the default) disables probing.
         */
        Builder probePort(int port);

        /**
         * Second addresses for NAT probing, at most one per family (for example a second IP on the
         * same host). With one, a listen address of that family also gets sockets on this address,
         * with the listen port and the probe port, so that probes can change address as well as
         * port (RFC 5780). Only listen addresses that are not wildcards get them.
         */
        Builder alternateAddress(InetAddress... addresses);

        /**
         * Serves only the keys on {@code list} (null, the default: everyone). Handshakes of other
         * keys are dropped ({@link DropReason#NOT_ALLOWED}), so they are never registered, and a
         * key that is not (or no longer) on the list is answered as not registered to everyone,
         * in version 1 and version 2 alike. {@link AllowList#replace} changes it while running.
         */
        Builder allowList(AllowList list);

        /**
         * Like {@link #allowList} with the keys of {@code file} (one base64 key per line, {@code #}
         * comments). The server checks the file's modification time every second and reloads it
         * when it changes; a file that then fails to parse keeps the previous list and logs one
         * warning.
         *
         * @throws java.io.IOException if the file cannot be read now or a line is not a key (the
         *     message names the line)
         */
        Builder allowFile(java.nio.file.Path file) throws java.io.IOException;

        /**
         * Mutual mode: the server shows A's endpoints to B only if A has asked for B (a lookup of
         * either version, or a subscription) during A's current registration, so that two peers
         * see each other only when each lists the other. Default off.
         */
        Builder mutual(boolean on);

        /** The server's static key pair. Default: a freshly generated one. */
        Builder keyPair(KeyPair keyPair);

        /** How long a registration lives without a handshake or lookup from its client. Positive. */
        Builder registrationTtl(Duration ttl);

        /** How long a session lives after its handshake. Positive; keep it above 5 minutes. */
        Builder sessionTtl(Duration ttl);

        /** Cap on registered client keys. At least 1. */
        Builder maxRegistrations(int max);

        /** Cap on concurrent sessions. At least 1. */
        Builder maxSessions(int max);

        /**
         * Threads that run handshakes (the key exchange, a few hundred microseconds each); each
         * socket also has a receiving thread of its own that answers lookups. Default: the number
         * of available processors.
         */
        Builder workerThreads(int threads);

        /** Observer of registrations, lookups and drops. Default: none. */
        Builder listener(ServerListener listener);

        /**
         * Limits handshake initiations per source address (IPv4 address or IPv6 /64) to
         * {@code perSecond} on average with bursts of up to {@code burst}; excess ones are dropped as
         * {@link DropReason#RATE_LIMITED}. Default {@value RendezvousServer#DEFAULT_HANDSHAKES_PER_SECOND}
         * per second, burst {@value RendezvousServer#DEFAULT_HANDSHAKE_BURST}. Clients behind one NAT
         * share their public address, so allow for the largest such group.
         *
         * @param perSecond average rate, finite and {@code >= 0}; 0 disables the limit (then
         *     {@code burst} is ignored)
         * @param burst bucket size, at least 1 when the limit is on
         */
        Builder handshakeRateLimit(double perSecond, int burst);

        /**
         * The highest protocol version the server speaks. 2 (the default) answers clients that
         * offer version 2 in their handshake with it and everyone else with version 1, byte for
         * byte. 1 speaks version 1 only, as natpunch-go's server does: it accepts a longer message
         * 1 but ignores its capability block, answers 53-byte message 2s only, and drops sealed
         * (type 4) datagrams; it lets tests stand in for a natpunch-go server.
         *
         * @param highest 1 or 2
         */
        Builder protocolVersion(int highest);

        /**
         * Offers relaying (protocol version 2, feature RELAY): RELAY requests of version 2
         * sessions are answered from {@code allocator}, typically a started
         * {@link dev.natpunch.relay.Relay} whose life the caller manages. Without one (the
         * default, or {@code null}) the feature is not offered. A client's ALLOCATE for a peer
         * it may not see must not reach the allocator: the server answers it PENDING.
         */
        Builder relay(RelayAllocator allocator);

        /** Clock for expiry decisions and the rate limit (tests inject one). Default: the system UTC clock. */
        Builder clock(Clock clock);

        /** A new, not yet started server. */
        RendezvousServer build();
    }
}
