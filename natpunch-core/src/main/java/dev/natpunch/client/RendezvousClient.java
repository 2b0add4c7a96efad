package dev.natpunch.client;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.net.Endpoints;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Messages;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.ErrorMessage;
import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.Registration;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.ServerInfo;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A rendezvous client: it authenticates to the server with the WireGuard interface's key pair
 * (Noise IK), which registers the address and port the server sees the transport's datagrams come
 * from, and asks where peers are registered.
 *
 * <pre>{@code
 * try (RendezvousClient client = new RendezvousClient(wgKeys, serverKey, UdpTransport.open(server))) {
 *     Map<Key, List<PeerEndpoint>> peers = client.lookupAll(peerKeys);
 * }
 * }</pre>
 *
 * <p><b>Versions.</b> The client offers protocol version 2 ({@code docs/protocol-v2.md}) inside
 * the version 1 handshake. A server that does not take it up (natpunch-go, or a natpunch-java
 * server before version 2) is spoken to in version 1, byte for byte as natpunch-go's client does:
 * one lookup per peer, IPv4 only. With a version 2 server, {@link #lookupAll} asks for up to 37
 * peers per datagram and gets every endpoint of each (IPv4, IPv6, LAN candidates), {@link
 * #subscribe} makes the server push changes as they happen, and {@link #register} reports LAN
 * candidates. A server that answered version 2 once is never downgraded on silence alone for as
 * long as the JVM runs (a dropped packet is likelier than a downgrade, and an attacker who drops
 * packets must not be able to force one). {@link Builder#protocolVersion(int)
 * protocolVersion(1)} makes the client behave exactly like natpunch-go's.
 *
 * <p><b>Timing.</b> Requests are handshaked first when there is no session yet or the session is
 * older than the re-handshake age (5 minutes by default, as natpunch-go, or sooner if the server
 * announced a shorter session lifetime). A version 2 handshake is sent again after 1 s and falls
 * back to a plain version 1 one after 3 s (sooner with a response timeout under 12 s); version 2 requests are retransmitted after 0.5, 1.5, 3.5
 * and 7.5 s. Every call fails with a {@link SocketTimeoutException} when no answer arrives within
 * the response timeout (10 seconds by default); the session is then discarded so that the next
 * call starts with a fresh handshake (the server may have restarted).
 *
 * <p><b>Threads.</b> After the first handshake a daemon thread receives the server's datagrams
 * and calls the {@link PushListener}; it ends with {@link #close()}. Calls are thread-safe and
 * serialized, one at a time.
 */
public final class RendezvousClient implements Closeable {
    /** How long a request waits for the server's answer unless configured otherwise. */
    public static final Duration DEFAULT_RESPONSE_TIMEOUT = Duration.ofSeconds(10);
    /** Session age after which a request first re-handshakes, unless configured otherwise. */
    public static final Duration DEFAULT_REHANDSHAKE_AFTER = Duration.ofMinutes(5);

    /** The version 2 features this client can use, but INTEREST, which it offers when asked to. */
    static final long FEATURES = V2Wire.FEATURE_BATCH_LOOKUP | V2Wire.FEATURE_PUSH
            | V2Wire.FEATURE_DUAL_STACK | V2Wire.FEATURE_CANDIDATES | V2Wire.FEATURE_RELAY;

    private static final Logger log = LoggerFactory.getLogger(RendezvousClient.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * When a version 2 handshake is sent (protocol-v2.md 3.6), and the plain ones after it, as
     * fractions of the response timeout and at most these times, so that even a short timeout
     * leaves room for the fallback.
     */
    private static final long[] HANDSHAKE_SENDS_MS = {0, 1000, 3000, 6000};
    private static final double[] HANDSHAKE_SENDS_FRACTION = {0, 0.25, 0.5, 0.75};
    /** How many of those carry an offer, unless the server is known to speak version 2. */
    private static final int OFFERS_BEFORE_FALLBACK = 2;
    /** After falling back, handshakes stay plain for this long (one handshake period). */
    private static final long PLAIN_FOR_MS = Duration.ofMinutes(5).toMillis();
    /** When a version 2 request is sent (protocol-v2.md 5.3). */
    private static final long[] REQUEST_SENDS_MS = {0, 500, 1500, 3500, 7500};
    /** How long an answer to an older handshake attempt waits for one to the newest. */
    private static final long ANSWER_GRACE_MS = 300;
    private static final long RATE_LIMITED_WAIT_MS = 1000;

    /** Keys per LOOKUP when peers may have IPv4 and IPv6 endpoints, so that the answer fits (6.1). */
    private static final int KEYS_PER_LOOKUP_DUAL = 27;
    private static final int MAX_KEYS_PER_REQUEST = 37;
    private static final int INFO_PADDING = 188;
    private static final int RELAY_PADDING = 74;
    /**
     * 56 would do for the answer (5.4), but a REGISTER is often the last datagram before a wait,
     * and a server pushes an address it has not validated nothing longer than that (6.3).
     */
    private static final int REGISTER_PADDING = V2Wire.MAX_DATAGRAM;
    private static final int MAX_CANDIDATES = 8;

    /** Servers that answered version 2 in this JVM: never downgraded on silence. Bounded. */
    private static final Set<Key> V2_SERVERS = ConcurrentHashMap.newKeySet();
    private static final int MAX_V2_SERVERS = 4096;

    private final KeyPair clientKeys;
    private final Key serverKey;
    private final DatagramTransport transport;
    private final Clock clock;
    private final Duration responseTimeout;
    private final long rehandshakeAfterMillis;
    private final boolean offerV2;
    private final PushListener pushListener;
    /** The version 2 features offered. */
    private final long features;

    /** Serializes the public calls; the receive thread never takes it. */
    private final ReentrantLock calls = new ReentrantLock();
    private final byte[] out = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] scratch = new byte[8 + V2Wire.MAX_CAPABILITY_BLOCK];

    /** Guards everything below, shared with the receive thread. */
    private final Object state = new Object();
    private ServerSession session;
    private ServerSession previous;
    private final List<Attempt> attempts = new ArrayList<>();
    private final Map<Integer, Request> outstanding = new HashMap<>();
    private V1Wait v1Wait;
    private PortUnreachableException unreachable;
    private InetSocketAddress observed;
    /** The subscription set, re-sent after every handshake. */
    private final Set<Key> subscribed = new LinkedHashSet<>();
    /** Version and endpoints last applied per subscribed key (6.1: older data is ignored). */
    private final Map<Key, Known> known = new HashMap<>();
    private List<InetSocketAddress> candidates = List.of();
    private long lastTimestamp;
    private long plainUntilMillis;
    /** Version 2 requests made, retransmissions not counted. */
    private long requestsMade;
    private Thread receiver;
    private boolean closed;

    /**
     * Receives the changes a version 2 server pushes for subscribed peers, and the peers that
     * looked this client up.
     */
    @FunctionalInterface
    public interface PushListener {
        /**
         * A subscribed peer's endpoints changed, or, with {@link Builder#hearOfLookups}, another
         * key looked this client up (then {@code endpoints} is never empty, and the key may be
         * anyone the server lets this client see, not necessarily a peer). Called on the
         * client's receive thread, in the order the server's versions say; must not block.
         *
         * @param endpoints the peer's endpoints now, best first; empty when the peer is gone
         */
        void onUpdate(Key peer, List<PeerEndpoint> endpoints);
    }

    /**
     * A client with the default clock, response timeout and re-handshake age that offers version 2.
     *
     * @param clientKeys the WireGuard interface's key pair: the server registers its public key
     * @param serverKey the server's public key
     * @param transport the datagram path to the server; closed by {@link #close()}
     */
    public RendezvousClient(KeyPair clientKeys, Key serverKey, DatagramTransport transport) {
        this(builder(clientKeys, serverKey, transport));
    }

    private RendezvousClient(Builder b) {
        this.clientKeys = b.clientKeys;
        this.serverKey = b.serverKey;
        this.transport = b.transport;
        this.clock = b.clock;
        this.responseTimeout = b.responseTimeout;
        this.rehandshakeAfterMillis = b.rehandshakeAfter.toMillis();
        this.offerV2 = b.protocolVersion >= V2Wire.VERSION;
        this.pushListener = b.pushListener;
        this.features = FEATURES | (b.hearOfLookups ? V2Wire.FEATURE_INTEREST : 0);
    }

    /** A builder for a client with non-default settings. */
    public static Builder builder(KeyPair clientKeys, Key serverKey, DatagramTransport transport) {
        return new Builder(clientKeys, serverKey, transport);
    }

    /** Settings of a {@link RendezvousClient}. Not thread-safe. */
    public static final class Builder {
        private final KeyPair clientKeys;
        private final Key serverKey;
        private final DatagramTransport transport;
        private Clock clock = Clock.systemUTC();
        private Duration responseTimeout = DEFAULT_RESPONSE_TIMEOUT;
        private Duration rehandshakeAfter = DEFAULT_REHANDSHAKE_AFTER;
        private int protocolVersion = V2Wire.VERSION;
        private PushListener pushListener = (peer, endpoints) -> { };
        private boolean hearOfLookups;

        private Builder(KeyPair clientKeys, Key serverKey, DatagramTransport transport) {
            this.clientKeys = Objects.requireNonNull(clientKeys, "clientKeys");
            this.serverKey = Objects.requireNonNull(serverKey, "serverKey");
            this.transport = Objects.requireNonNull(transport, "transport");
        }

        /** Clock for handshake timestamps and session age. Default: the system UTC clock. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How long each call waits for the server's answers. Positive; default 10 s. */
        public Builder responseTimeout(Duration timeout) {
            this.responseTimeout = positive(timeout, "responseTimeout");
            return this;
        }

        /** Session age after which a request first re-handshakes. Positive; default 5 min. */
        public Builder rehandshakeAfter(Duration age) {
            this.rehandshakeAfter = positive(age, "rehandshakeAfter");
            return this;
        }

        /**
         * The highest protocol version to speak: 2 (the default) offers version 2 and falls back
         * to 1 with a server that does not take it up; 1 behaves exactly like natpunch-go's client
         * (one plain handshake, one lookup per peer).
         */
        public Builder protocolVersion(int version) {
            if (version != 1 && version != V2Wire.VERSION) {
                throw new IllegalArgumentException("protocol version must be 1 or 2, not " + version);
            }
            this.protocolVersion = version;
            return this;
        }

        /** Receives pushed updates of {@link #subscribe subscribed} peers. Default: none. */
        public Builder pushListener(PushListener listener) {
            this.pushListener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Whether a version 2 server is asked to push the {@link PushListener} the keys that look
         * this client up (protocol-v2.md 6.3, INTEREST): for a client that waits for peers to
         * appear, so that it acts on a new one at once. Each such push costs an acknowledgement.
         * Default: off.
         */
        public Builder hearOfLookups(boolean hear) {
            this.hearOfLookups = hear;
            return this;
        }

        public RendezvousClient build() {
            return new RendezvousClient(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, got " + d);
            }
            return d;
        }
    }

    /** How many version 2 requests this client made (not datagrams: retransmissions are not counted). */
    long requestsMade() {
        synchronized (state) {
            return requestsMade;
        }
    }

    /** The transport's server. */
    public InetSocketAddress server() {
        return transport.server();
    }

    /**
     * The protocol version of the current session: 1 or 2, or 0 when there is no session.
     */
    public int protocolVersion() {
        synchronized (state) {
            return session == null ? 0 : session.version;
        }
    }

    /**
     * Where the server last said our datagrams come from (our NAT's mapping), from a version 2
     * handshake or registration; empty with a version 1 server.
     */
    public Optional<InetSocketAddress> observedEndpoint() {
        synchronized (state) {
            return Optional.ofNullable(observed);
        }
    }

    /**
     * Runs a handshake now, replacing any current session. This registers (or refreshes) the
     * client's address at the server, then restores the subscriptions and LAN candidates of the
     * previous session.
     *
     * @throws SocketTimeoutException if the server did not answer in time (wrong address or port,
     *     wrong server key, or UDP filtered)
     * @throws IOException if the transport fails
     */
    public void handshake() throws IOException {
        calls.lock();
        try {
            ensureOpen();
            doHandshake();
            restore();
        } finally {
            calls.unlock();
        }
    }

    /**
     * Asks the server where {@code peer} is registered, handshaking first when needed.
     *
     * @return the peer's public address and port as the server saw them (IPv4 when the server
     *     knows both families), or empty when the server does not know the peer
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public Optional<InetSocketAddress> lookup(Key peer) throws IOException {
        Objects.requireNonNull(peer, "peer");
        List<PeerEndpoint> found = lookupAll(List.of(peer)).get(peer);
        return found.stream().filter(e -> e.kind() == PeerEndpoint.Kind.SERVER_REFLEXIVE)
                .sorted((x, y) -> Boolean.compare(y.isIpv4(), x.isIpv4()))
                .map(PeerEndpoint::address)
                .findFirst();
    }

    /**
     * Asks where each of {@code peers} is, handshaking first when needed: with a version 2 server
     * in a few datagrams sent at once, with a version 1 server one lookup after another.
     *
     * @return every asked key, in order, with its endpoints best first (empty: not found)
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public Map<Key, List<PeerEndpoint>> lookupAll(Collection<Key> peers) throws IOException {
        List<Key> keys = List.copyOf(new LinkedHashSet<>(peers));
        calls.lock();
        try {
            ensureOpen();
            ServerSession s = ensureSession();
            Map<Key, List<PeerEndpoint>> result = new LinkedHashMap<>();
            if (s.has(V2Wire.FEATURE_BATCH_LOOKUP)) {
                batchLookup(s, keys, result);
                if (result.size() == keys.size()) {
                    return result;
                }
            }
            for (Key k : keys) {
                if (!result.containsKey(k)) {
                    result.put(k, v1Lookup(ensureSession(), k));
                }
            }
            return result;
        } finally {
            calls.unlock();
        }
    }

    /**
     * Makes the server push changes of {@code peers}' endpoints to the {@link PushListener}, on
     * this and every later session (the set is sent again after each handshake). Replaces the
     * previous set.
     *
     * @return whether the server takes subscriptions (version 2 with push); when not, the caller
     *     has to poll
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public boolean subscribe(Collection<Key> peers) throws IOException {
        calls.lock();
        try {
            ensureOpen();
            synchronized (state) {
                subscribed.clear();
                subscribed.addAll(peers);
                known.keySet().retainAll(subscribed);
            }
            return sendSubscriptions(ensureSession());
        } finally {
            calls.unlock();
        }
    }

    /**
     * Registers this client's LAN addresses (each with the WireGuard port) as candidates, so that
     * peers behind the same NAT can reach it directly. Kept across handshakes.
     *
     * @param localCandidates at most 8 addresses; an empty list clears them
     * @return our public endpoint as the server saw this registration, or empty with a server that
     *     does not speak version 2 (which then ignores candidates)
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public Optional<InetSocketAddress> register(List<InetSocketAddress> localCandidates) throws IOException {
        List<InetSocketAddress> copy = List.copyOf(localCandidates);
        if (copy.size() > MAX_CANDIDATES) {
            throw new IllegalArgumentException("at most " + MAX_CANDIDATES + " candidates, got " + copy.size());
        }
        calls.lock();
        try {
            ensureOpen();
            synchronized (state) {
                candidates = copy;
            }
            ServerSession s = ensureSession();
            return s.version >= V2Wire.VERSION ? Optional.of(sendRegister(s)) : Optional.empty();
        } finally {
            calls.unlock();
        }
    }

    /**
     * The addresses the server listens on for rendezvous (one per family), so that a client can
     * register its other address family there.
     *
     * @return empty with a server that does not speak version 2
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public List<InetSocketAddress> serverAddresses() throws IOException {
        calls.lock();
        try {
            ensureOpen();
            ServerSession s = ensureSession();
            if (s.version < V2Wire.VERSION) {
                return List.of();
            }
            Request r = newRequest(s, V2Wire.KIND_INFO, INFO_PADDING);
            r.length = ServerInfo.writeRequest(r.plain, 0, r.id);
            exchange(s, List.of(r), "an INFO request");
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (int i = 0; i < ServerInfo.endpointCount(r.answer, 0); i++) {
                WireEndpoint e = WireEndpoint.read(r.answer, ServerInfo.endpointOffset(0, i));
                if (e.kind() == WireEndpoint.Kind.SERVER_PRIMARY) {
                    addresses.add(new InetSocketAddress(e.address(), e.port()));
                }
            }
            return addresses;
        } finally {
            calls.unlock();
        }
    }

    /**
     * A relay allocation for this client and one peer: where to send, and the token that binds
     * our address to it (protocol-v2.md 6.7). Immutable.
     *
     * @param endpoint the relay port facing this client
     * @param token the single-use bind token (16 bytes), sent in the bind datagram
     * @param idleSeconds how long the relay keeps the pair without traffic
     */
    public record RelayGrant(InetSocketAddress endpoint, byte[] token, int idleSeconds) {
        public RelayGrant {
            Objects.requireNonNull(endpoint, "endpoint");
            token = token.clone();
        }

        @Override
        public byte[] token() {
            return token.clone();
        }

        /** The 20-byte bind datagram to send from WireGuard's port to {@link #endpoint()}. */
        public byte[] bindDatagram() {
            byte[] d = new byte[4 + token.length];
            RelayControl.writeBind(d, 0, token, 0);
            return d;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof RelayGrant g && g.endpoint.equals(endpoint)
                    && java.security.MessageDigest.isEqual(g.token, token) && g.idleSeconds == idleSeconds;
        }

        @Override
        public int hashCode() {
            return endpoint.hashCode();
        }

        @Override
        public String toString() {
            return "RelayGrant[" + endpoint + ", idle " + idleSeconds + " s]";
        }
    }

    /**
     * Asks the server's relay for a pair with {@code peer} (or refreshes it). The relay allocates
     * once both sides have asked for each other; until then the answer is empty, and the caller
     * asks again (about every second) while it wants the relay.
     *
     * @return the grant once the pair is ready; empty while the peer has not asked (or may not see
     *     us, which looks the same), or when the server has no relay for us
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public Optional<RelayGrant> relay(Key peer) throws IOException {
        Objects.requireNonNull(peer, "peer");
        calls.lock();
        try {
            ensureOpen();
            ServerSession s = ensureSession();
            if (!s.has(V2Wire.FEATURE_RELAY)) {
                return Optional.empty();
            }
            Request r = newRequest(s, V2Wire.KIND_RELAY, RELAY_PADDING);
            r.length = RelayControl.writeRequest(r.plain, 0, r.id, RelayControl.OP_ALLOCATE, peer);
            exchange(s, List.of(r), "a relay request");
            if (r.errorCode != 0 || RelayControl.status(r.answer, 0) != RelayControl.STATUS_READY) {
                return Optional.empty();
            }
            WireEndpoint e = WireEndpoint.read(r.answer, RelayControl.relayEndpointOffset(0));
            byte[] token = java.util.Arrays.copyOfRange(r.answer, RelayControl.tokenOffset(0),
                    RelayControl.tokenOffset(0) + V2Wire.RELAY_TOKEN_LENGTH);
            return Optional.of(new RelayGrant(new InetSocketAddress(e.address(), e.port()), token,
                    RelayControl.lifetimeSeconds(r.answer, 0)));
        } finally {
            calls.unlock();
        }
    }

    /**
     * Ends the relay pair with {@code peer} (both sides), once a direct path works.
     *
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public void releaseRelay(Key peer) throws IOException {
        calls.lock();
        try {
            ensureOpen();
            ServerSession s = ensureSession();
            if (!s.has(V2Wire.FEATURE_RELAY)) {
                return;
            }
            Request r = newRequest(s, V2Wire.KIND_RELAY, RELAY_PADDING);
            r.length = RelayControl.writeRequest(r.plain, 0, r.id, RelayControl.OP_RELEASE, peer);
            exchange(s, List.of(r), "a relay release");
        } finally {
            calls.unlock();
        }
    }

    /** Forgets the session and closes the transport, which ends the receive thread. Idempotent. */
    @Override
    public void close() throws IOException {
        Thread rx;
        synchronized (state) {
            if (closed) {
                return;
            }
            closed = true;
            dropSessions();
            rx = receiver;
            state.notifyAll();
        }
        transport.close();
        if (rx != null && rx != Thread.currentThread()) {
            try {
                rx.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- handshake --------------------------------------------------------------------------

    /** One message 1 sent; the receive thread completes it when its message 2 arrives. */
    private static final class Attempt {
        final NoiseHandshake noise;
        final Capabilities offer;
        ServerSession result;

        Attempt(NoiseHandshake noise, Capabilities offer) {
            this.noise = noise;
            this.offer = offer;
        }
    }

    private ServerSession ensureSession() throws IOException {
        synchronized (state) {
            ServerSession s = session;
            if (s != null && clock.millis() - s.createdMillis < rehandshakeAge(s)) {
                return s;
            }
        }
        doHandshake();
        restore();
        synchronized (state) {
            if (session == null) {
                throw new SocketTimeoutException("the session with " + transport.server() + " was lost");
            }
            return session;
        }
    }

    private long rehandshakeAge(ServerSession s) {
        if (s.lifetimeSeconds > 0) {
            return Math.min(rehandshakeAfterMillis, s.lifetimeSeconds * 900L);
        }
        return rehandshakeAfterMillis;
    }

    private void doHandshake() throws IOException {
        ensureReceiver();
        boolean sticky = V2_SERVERS.contains(serverKey);
        boolean offering = offerV2 && (sticky || clock.millis() >= plainUntilMillis);
        int sends = offerV2 ? HANDSHAKE_SENDS_MS.length : 1;
        long[] sendAt = new long[sends];
        for (int i = 0; i < sends; i++) {
            sendAt[i] = Math.min(HANDSHAKE_SENDS_MS[i] * 1_000_000L,
                    (long) (responseTimeout.toNanos() * HANDSHAKE_SENDS_FRACTION[i]));
        }
        long start = System.nanoTime();
        long deadline = start + responseTimeout.toNanos();
        int sent = 0;
        Attempt chosen = null;
        long firstAnswerNanos = 0;
        try {
            while (true) {
                long now = System.nanoTime();
                if (sent < sends && now - start >= sendAt[sent] && now < deadline) {
                    boolean offer = offering && (sticky || sent < OFFERS_BEFORE_FALLBACK);
                    sendInitiation(offer);
                    sent++;
                    continue;
                }
                synchronized (state) {
                    checkUnreachable();
                    Attempt newest = attempts.isEmpty() ? null : attempts.get(attempts.size() - 1);
                    Attempt answered = null;
                    for (int i = attempts.size() - 1; i >= 0 && answered == null; i--) {
                        if (attempts.get(i).result != null) {
                            answered = attempts.get(i);
                        }
                    }
                    if (answered != null && firstAnswerNanos == 0) {
                        firstAnswerNanos = now;
                    }
                    if (answered != null && (answered == newest
                            || now - firstAnswerNanos >= ANSWER_GRACE_MS * 1_000_000L)) {
                        chosen = answered;
                        break;
                    }
                    if (now >= deadline) {
                        break;
                    }
                    long next = deadline;
                    if (sent < sends) {
                        next = Math.min(next, start + sendAt[sent]);
                    }
                    if (firstAnswerNanos != 0) {
                        next = Math.min(next, firstAnswerNanos + ANSWER_GRACE_MS * 1_000_000L);
                    }
                    waitNanos(next - now);
                    if (closed) {
                        throw new IOException("the client was closed");
                    }
                }
            }
            synchronized (state) {
                if (chosen == null) {
                    dropSessions();
                    throw new SocketTimeoutException("no handshake response from the rendezvous server "
                            + Endpoints.format(transport.server()) + " within " + describe(responseTimeout)
                            + ": most likely the server key is wrong or the server is unreachable; check that its"
                            + " public key is right (a server cannot decrypt a handshake made for another key, so"
                            + " it stays silent), then its address and port, that it runs, and that UDP to it is"
                            + " not filtered");
                }
                ServerSession s = chosen.result;
                for (Attempt a : attempts) {
                    if (a != chosen && a.result != null) {
                        a.result.destroy();
                    }
                }
                if (previous != null) {
                    previous.destroy();
                }
                previous = session;
                session = s;
                if (s.version >= V2Wire.VERSION) {
                    if (V2_SERVERS.size() < MAX_V2_SERVERS) {
                        V2_SERVERS.add(serverKey);
                    }
                } else if (chosen.offer == null && offering) {
                    plainUntilMillis = clock.millis() + PLAIN_FOR_MS;
                    log.info("{} did not answer protocol version 2 handshakes; using version 1 with it",
                            transport.server());
                }
                log.debug("handshake with {} done: version {}, session index {}", transport.server(),
                        s.version, Integer.toUnsignedString(s.index));
            }
        } finally {
            synchronized (state) {
                attempts.clear();
            }
        }
    }

    private void sendInitiation(boolean offer) throws IOException {
        NoiseHandshake noise = NoiseHandshake.initiator(clientKeys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
        Capabilities caps = offer ? Capabilities.offer(V2Wire.VERSION, features) : null;
        int n = V2Handshake.encodeInitiation(noise, RANDOM.nextInt(), nextTimestamp(), caps, scratch, out, 0);
        synchronized (state) {
            attempts.add(new Attempt(noise, caps));
        }
        send(out, n);
    }

    /** Runs on the receive thread, under the state lock. */
    private void onHandshakeResponse(byte[] d, int len, byte[] payload) {
        if (V2Handshake.checkResponse(d, 0, len) != null) {
            return;
        }
        for (int i = attempts.size() - 1; i >= 0; i--) {
            Attempt a = attempts.get(i);
            if (a.result != null) {
                continue;
            }
            int block;
            try {
                block = V2Handshake.readResponse(a.noise, d, 0, len, payload);
            } catch (HandshakeException e) {
                continue;
            }
            Capabilities answer = null;
            if (block > 0 && a.offer != null) {
                if (Capabilities.check(payload, 0, block, true) == null) {
                    Capabilities c = Capabilities.read(payload, 0, block, true);
                    if (c.isValidAnswerTo(a.offer)) {
                        answer = c;
                    }
                }
                if (answer == null) {
                    log.warn("{} answered with an invalid capability block; using protocol version 1",
                            transport.server());
                }
            }
            if (answer != null && answer.observedEndpoint() != null) {
                WireEndpoint o = answer.observedEndpoint();
                observed = new InetSocketAddress(o.address(), o.port());
            }
            a.result = new ServerSession(Wire.readInt(d, Wire.INDEX_OFFSET), a.noise.split(), answer,
                    clock.millis(), RANDOM.nextInt());
            state.notifyAll();
            return;
        }
        log.debug("ignoring a handshake response that matches no handshake in flight");
    }

    /** After a handshake: the subscriptions first (6.2: before any lookup), then the candidates. */
    private void restore() throws IOException {
        ServerSession s;
        boolean hasCandidates;
        synchronized (state) {
            s = session;
            hasCandidates = !candidates.isEmpty();
        }
        if (s == null || s.version < V2Wire.VERSION) {
            return;
        }
        sendSubscriptions(s);
        if (hasCandidates) {
            sendRegister(s);
        }
    }

    // ---- version 2 requests -----------------------------------------------------------------

    /** One version 2 request: its plaintext (resealed for every send) and, once here, its answer. */
    private static final class Request {
        final ServerSession session;
        final byte kind;
        final int id;
        final int padTo;
        final byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int length;
        byte[] answer;
        int errorCode;

        Request(ServerSession session, byte kind, int id, int padTo) {
            this.session = session;
            this.kind = kind;
            this.id = id;
            this.padTo = padTo;
        }

        boolean done() {
            return answer != null || errorCode != 0;
        }
    }

    private Request newRequest(ServerSession s, byte kind, int padTo) {
        synchronized (state) {
            requestsMade++;
            return new Request(s, kind, s.nextId++, padTo);
        }
    }

    private void batchLookup(ServerSession s, List<Key> keys, Map<Key, List<PeerEndpoint>> result)
            throws IOException {
        int want = want(s);
        int perDatagram = (want & V2Wire.WANT_IPV6) != 0 ? KEYS_PER_LOOKUP_DUAL : MAX_KEYS_PER_REQUEST;
        List<Key> left = new ArrayList<>(keys);
        while (!left.isEmpty()) {
            List<Request> batch = new ArrayList<>();
            List<List<Key>> asked = new ArrayList<>();
            for (int from = 0; from < left.size(); from += perDatagram) {
                List<Key> part = left.subList(from, Math.min(left.size(), from + perDatagram));
                Request r = newRequest(s, V2Wire.KIND_LOOKUP, V2Wire.MAX_DATAGRAM);
                r.length = BatchLookup.writeRequest(r.plain, 0, r.id, want, part.toArray(new Key[0]), 0, part.size());
                batch.add(r);
                asked.add(part);
            }
            exchange(s, batch, keys.size() == 1 ? "a lookup" : "lookups of " + keys.size() + " peers");
            List<Key> again = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                Request r = batch.get(i);
                List<Key> part = asked.get(i);
                if (r.errorCode == ErrorMessage.UNSUPPORTED) {
                    return;
                }
                    int answered = BatchLookup.answered(r.answer, 0);
                if (answered > part.size() || answered == 0) {
                    throw new IOException("the rendezvous server " + transport.server()
                            + " answered a lookup with a malformed result");
                }
                for (int p = 0; p < answered; p++) {
                    result.put(part.get(p), List.of());
                }
                int end = BatchLookup.entriesEnd(r.answer, 0);
                for (int e = BatchLookup.firstEntry(0); e < end; e = BatchLookup.nextEntry(r.answer, e)) {
                    Key k = part.get(BatchLookup.entryPosition(r.answer, e));
                    List<PeerEndpoint> endpoints = new ArrayList<>();
                    for (int j = 0; j < BatchLookup.entryEndpointCount(r.answer, e); j++) {
                        endpoints.add(toPeerEndpoint(WireEndpoint.read(r.answer, BatchLookup.entryEndpoint(e, j))));
                    }
                    result.put(k, newer(k, BatchLookup.entryVersion(r.answer, e), List.copyOf(endpoints)));
                }
                again.addAll(part.subList(answered, part.size()));
            }
            left = again;
            perDatagram = Math.max(1, perDatagram / 2);
        }
    }

    /**
     * What to report for a looked-up key: the result, unless a push already brought a newer
     * version of a subscribed key.
     */
    private List<PeerEndpoint> newer(Key k, int version, List<PeerEndpoint> endpoints) {
        synchronized (state) {
            if (!subscribed.contains(k)) {
                return endpoints;
            }
            Known held = known.get(k);
            if (held != null && held.version - version > 0) {
                return held.endpoints;
            }
            known.put(k, new Known(version, endpoints));
            return endpoints;
        }
    }

    /** The want byte (protocol-v2.md 5.6) of lookups and subscriptions: all the session negotiated. */
    private static int want(ServerSession s) {
        return V2Wire.WANT_IPV4 | V2Wire.WANT_SERVER_REFLEXIVE
                | (s.has(V2Wire.FEATURE_DUAL_STACK) ? V2Wire.WANT_IPV6 : 0)
                | (s.has(V2Wire.FEATURE_CANDIDATES) ? V2Wire.WANT_LOCAL : 0)
                | (s.has(V2Wire.FEATURE_RELAY) ? V2Wire.WANT_RELAY : 0);
    }

    private boolean sendSubscriptions(ServerSession s) throws IOException {
        if (!s.has(V2Wire.FEATURE_PUSH)) {
            return false;
        }
        List<Key> keys;
        synchronized (state) {
            keys = List.copyOf(subscribed);
        }
        int want = want(s);
        List<Request> requests = new ArrayList<>();
        int from = 0;
        do {
            int count = Math.min(MAX_KEYS_PER_REQUEST, keys.size() - from);
            Request r = newRequest(s, V2Wire.KIND_SUBSCRIBE, V2Wire.MAX_DATAGRAM);
            r.length = Subscription.writeRequest(r.plain, 0, r.id,
                    from == 0 ? Subscription.OP_REPLACE : Subscription.OP_ADD, want,
                    keys.toArray(new Key[0]), from, count);
            requests.add(r);
            from += count;
        } while (from < keys.size());
        // In order: the REPLACE must reach the server before the ADDs.
        for (Request r : requests) {
            exchange(s, List.of(r), "a subscription");
            if (r.errorCode == ErrorMessage.UNSUPPORTED) {
                return false;
            }
            if (Subscription.status(r.answer, 0) != Subscription.STATUS_OK) {
                log.warn("{} refused to push updates for {} peers (its limit is {}); they are polled instead",
                        transport.server(), keys.size(), Subscription.cap(r.answer, 0));
                return false;
            }
        }
        return true;
    }

    private InetSocketAddress sendRegister(ServerSession s) throws IOException {
        List<WireEndpoint> list = new ArrayList<>();
        synchronized (state) {
            if (s.has(V2Wire.FEATURE_CANDIDATES)) {
                for (InetSocketAddress a : candidates) {
                    list.add(new WireEndpoint(WireEndpoint.Kind.LOCAL, a.getAddress(), a.getPort()));
                }
            }
        }
        Request r = newRequest(s, V2Wire.KIND_REGISTER, REGISTER_PADDING);
        r.length = Registration.writeRequest(r.plain, 0, r.id, true, list);
        exchange(s, List.of(r), "a registration");
        if (r.errorCode != 0) {
            throw new IOException("the rendezvous server " + transport.server() + " refused our registration ("
                    + errorName(r.errorCode) + ")");
        }
        WireEndpoint o = WireEndpoint.read(r.answer, Registration.observedOffset(0));
        InetSocketAddress seen = new InetSocketAddress(o.address(), o.port());
        synchronized (state) {
            if (observed != null && !observed.equals(seen)) {
                log.info("our public endpoint at {} changed from {} to {}", transport.server(), observed, seen);
            }
            observed = seen;
        }
        return seen;
    }

    /**
     * Sends every request at once and retransmits the unanswered ones until each has an answer or
     * an error, or the response timeout passes (then the session is dropped).
     */
    private void exchange(ServerSession s, List<Request> requests, String what) throws IOException {
        synchronized (state) {
            for (Request r : requests) {
                outstanding.put(r.id, r);
            }
        }
        try {
            long start = System.nanoTime();
            long deadline = start + responseTimeout.toNanos();
            long notBefore = start;
            int sends = 0;
            while (true) {
                long now = System.nanoTime();
                if (sends < REQUEST_SENDS_MS.length && now >= Math.max(notBefore, start + REQUEST_SENDS_MS[sends] * 1_000_000L)) {
                    for (Request r : requests) {
                        if (!r.done()) {
                            sendSealed(s, r.plain, r.length, r.padTo);
                        }
                    }
                    sends++;
                    continue;
                }
                synchronized (state) {
                    checkUnreachable();
                    boolean rateLimited = false;
                    boolean all = true;
                    for (Request r : requests) {
                        if (r.errorCode == ErrorMessage.RATE_LIMITED) {
                            r.errorCode = 0;
                            rateLimited = true;
                        }
                        all &= r.done();
                    }
                    if (rateLimited) {
                        notBefore = now + RATE_LIMITED_WAIT_MS * 1_000_000L;
                        log.debug("{} rate-limits us; waiting 1 s", transport.server());
                    }
                    if (all) {
                        for (Request r : requests) {
                            if (r.errorCode == ErrorMessage.MALFORMED || r.errorCode == ErrorMessage.UNAVAILABLE) {
                                throw new IOException("the rendezvous server " + transport.server() + " could not"
                                        + " serve " + what + " (" + errorName(r.errorCode) + ")");
                            }
                            if (r.errorCode == ErrorMessage.UNSUPPORTED) {
                                s.features &= ~V2Messages.featureOf(r.kind);
                            }
                        }
                        return;
                    }
                    if (now >= deadline) {
                        dropSessions();
                        throw new SocketTimeoutException("no answer from the rendezvous server " + transport.server()
                                + " to " + what + " within " + describe(responseTimeout)
                                + "; the next request will start with a new handshake");
                    }
                    long next = deadline;
                    if (sends < REQUEST_SENDS_MS.length) {
                        next = Math.min(next, Math.max(notBefore, start + REQUEST_SENDS_MS[sends] * 1_000_000L));
                    }
                    waitNanos(next - now);
                    if (closed) {
                        throw new IOException("the client was closed");
                    }
                }
            }
        } finally {
            synchronized (state) {
                for (Request r : requests) {
                    outstanding.remove(r.id);
                }
            }
        }
    }

    private void sendSealed(ServerSession s, byte[] plain, int length, int padTo) throws IOException {
        byte[] d = new byte[V2Wire.MAX_DATAGRAM];
        int n;
        synchronized (state) {
            n = Sealed.seal(s.sender, V2Wire.TYPE_SEALED_TO_SERVER, s.index, s.nextCounter++, plain, 0, length,
                    padTo, d, 0);
        }
        send(d, n);
    }

    /** Runs on the receive thread, under the state lock; returns a push to deliver, if any. */
    private List<Update> onSealed(byte[] d, int len, byte[] plain) throws IOException {
        if (Sealed.check(d, 0, len, false) != null) {
            return List.of();
        }
        int index = Sealed.sessionIndex(d, 0);
        ServerSession s = session != null && session.index == index ? session
                : previous != null && previous.index == index ? previous : null;
        if (s == null) {
            return List.of();
        }
        int n = Sealed.open(s.receiver, d, 0, len, plain, 0);
        if (n < 0 || !s.replayWindow.accept(Sealed.counter(d, 0))) {
            return List.of();
        }
        if (V2Messages.checkToClient(plain, 0, n) != null) {
            log.debug("ignoring a malformed message from {}", transport.server());
            return List.of();
        }
        byte kind = Sealed.kind(plain, 0);
        int id = Sealed.id(plain, 0);
        if (kind == V2Wire.KIND_PUSH_UPDATE) {
            return onPush(s, plain, id);
        }
        Request r = outstanding.get(id);
        if (r == null || r.session != s || r.done()) {
            return List.of();
        }
        if (kind == V2Wire.KIND_ERROR) {
            r.errorCode = ErrorMessage.code(plain, 0);
            if (r.errorCode == 0) {
                r.errorCode = ErrorMessage.MALFORMED;
            }
        } else if (kind == (byte) (r.kind | 0x80)) {
            r.answer = java.util.Arrays.copyOf(plain, n);
        } else {
            return List.of();
        }
        state.notifyAll();
        return List.of();
    }

    /** A push entry to hand to the listener. */
    private record Update(Key peer, List<PeerEndpoint> endpoints) {
    }

    /** What was last applied for a subscribed key. */
    private record Known(int version, List<PeerEndpoint> endpoints) {
    }

    private List<Update> onPush(ServerSession s, byte[] plain, int pushId) throws IOException {
        // Every copy is acknowledged: the ack of an earlier one may have been lost (6.3).
        byte[] ack = new byte[64];
        int n = Push.writeAck(ack, 0, pushId);
        byte[] d = new byte[V2Wire.MAX_DATAGRAM];
        int len = Sealed.seal(s.sender, V2Wire.TYPE_SEALED_TO_SERVER, s.index, s.nextCounter++, ack, 0, n, 0, d, 0);
        send(d, len);
        List<Update> updates = new ArrayList<>();
        int end = Push.entriesEnd(plain, 0);
        for (int e = Push.firstEntry(0); e < end; e = Push.nextEntry(plain, e)) {
            Key k = Key.fromBytes(java.util.Arrays.copyOfRange(plain, Push.entryKeyOffset(e), Push.entryKeyOffset(e) + 32));
            int version = Push.entryVersion(plain, e);
            if (!subscribed.contains(k)) {
                // A peer that looked us up (INTEREST): news to pass on, not state to keep.
                if (s.has(V2Wire.FEATURE_INTEREST) && Push.entryEndpointCount(plain, e) > 0) {
                    updates.add(new Update(k, endpointsOf(plain, e)));
                }
                continue;
            }
            Known held = known.get(k);
            if (held != null && version - held.version <= 0) {
                continue;
            }
            List<PeerEndpoint> list = endpointsOf(plain, e);
            known.put(k, new Known(version, list));
            updates.add(new Update(k, list));
        }
        return updates;
    }

    private static List<PeerEndpoint> endpointsOf(byte[] plain, int entry) {
        List<PeerEndpoint> endpoints = new ArrayList<>();
        for (int j = 0; j < Push.entryEndpointCount(plain, entry); j++) {
            endpoints.add(toPeerEndpoint(WireEndpoint.read(plain, Push.entryEndpoint(entry, j))));
        }
        return List.copyOf(endpoints);
    }

    // ---- version 1 lookups ------------------------------------------------------------------

    /** The one version 1 lookup in flight: version 1 answers carry no id. */
    private static final class V1Wait {
        final ServerSession session;
        final byte[] plain = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
        int length = -1;

        V1Wait(ServerSession session) {
            this.session = session;
        }
    }

    private List<PeerEndpoint> v1Lookup(ServerSession s, Key peer) throws IOException {
        byte[] plainScratch = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
        V1Wait wait = new V1Wait(s);
        int n;
        synchronized (state) {
            v1Wait = wait;
            n = LookupRequest.encode(s.sender, s.index, s.nextCounter++, clientKeys.publicKey(), peer,
                    plainScratch, out, 0);
        }
        try {
            send(out, n);
            long deadline = System.nanoTime() + responseTimeout.toNanos();
            synchronized (state) {
                while (wait.length < 0) {
                    checkUnreachable();
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        dropSessions();
                        throw new SocketTimeoutException("no lookup response from the rendezvous server "
                                + transport.server() + " within " + describe(responseTimeout)
                                + "; the next request will start with a new handshake");
                    }
                    waitNanos(left);
                    if (closed) {
                        throw new IOException("the client was closed");
                    }
                }
            }
        } finally {
            synchronized (state) {
                if (v1Wait == wait) {
                    v1Wait = null;
                }
            }
        }
        if (wait.length != Wire.ENDPOINT_PLAINTEXT_LENGTH) {
            return List.of();
        }
        byte[] ip = {wait.plain[0], wait.plain[1], wait.plain[2], wait.plain[3]};
        InetSocketAddress a = new InetSocketAddress(java.net.InetAddress.getByAddress(ip),
                Wire.readUnsignedShort(wait.plain, 4));
        return List.of(new PeerEndpoint(PeerEndpoint.Kind.SERVER_REFLEXIVE, a));
    }

    /** Runs on the receive thread, under the state lock. */
    private void onV1Lookup(byte[] d, int len) {
        V1Wait w = v1Wait;
        if (w == null || w.length >= 0 || w.session != session) {
            return;
        }
        int n = LookupResponse.open(w.session.receiver, d, 0, len, w.plain);
        if (n < 0 || !w.session.replayWindow.accept(LookupResponse.counter(d, 0))) {
            log.debug("ignoring a lookup response that does not authenticate or is replayed");
            return;
        }
        w.length = n;
        state.notifyAll();
    }

    // ---- receive thread ---------------------------------------------------------------------

    private void ensureReceiver() {
        synchronized (state) {
            if (receiver == null) {
                receiver = new Thread(this::receiveLoop, "natpunch-client-" + transport.server());
                receiver.setDaemon(true);
                receiver.start();
            }
        }
    }

    private void receiveLoop() {
        byte[] in = new byte[2048];
        ByteBuffer buf = ByteBuffer.wrap(in);
        byte[] plain = new byte[2048];
        while (true) {
            synchronized (state) {
                if (closed) {
                    return;
                }
            }
            int len;
            try {
                buf.clear();
                len = transport.receive(buf, Duration.ofSeconds(1));
            } catch (PortUnreachableException e) {
                synchronized (state) {
                    unreachable = e;
                    state.notifyAll();
                }
                continue;
            } catch (IOException e) {
                synchronized (state) {
                    if (closed) {
                        return;
                    }
                }
                log.debug("receiving from {} failed: {}", transport.server(), e.getMessage());
                pauseAfterFailure();
                continue;
            }
            if (len <= 0) {
                continue;
            }
            List<Update> updates = List.of();
            try {
                synchronized (state) {
                    if (in[0] == Wire.TYPE_HANDSHAKE_RESPONSE) {
                        onHandshakeResponse(in, len, plain);
                    } else if (in[0] == Wire.TYPE_DATA) {
                        if (Messages.checkToClient(in, 0, len) == null) {
                            onV1Lookup(in, len);
                        }
                    } else if (in[0] == V2Wire.TYPE_SEALED_TO_CLIENT) {
                        updates = onSealed(in, len, plain);
                    }
                }
            } catch (IOException e) {
                log.debug("acknowledging a push to {} failed: {}", transport.server(), e.getMessage());
            } catch (RuntimeException e) {
                log.warn("ignoring a datagram from {} that could not be handled", transport.server(), e);
            }
            for (Update u : updates) {
                try {
                    pushListener.onUpdate(u.peer(), u.endpoints());
                } catch (RuntimeException e) {
                    log.warn("the push listener failed", e);
                }
            }
        }
    }

    private static void pauseAfterFailure() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    private void ensureOpen() {
        synchronized (state) {
            if (closed) {
                throw new IllegalStateException("the client is closed");
            }
        }
    }

    /** Under the state lock. */
    private void dropSessions() {
        if (session != null) {
            session.destroy();
            session = null;
        }
        if (previous != null) {
            previous.destroy();
            previous = null;
        }
    }

    /** Under the state lock: a port-unreachable report while waiting ends the wait. */
    private void checkUnreachable() throws IOException {
        PortUnreachableException e = unreachable;
        if (e != null) {
            unreachable = null;
            throw nothingListens(e);
        }
    }

    /** Under the state lock. */
    private void waitNanos(long nanos) {
        if (nanos <= 0) {
            return;
        }
        try {
            state.wait(Math.max(1, (nanos + 999_999) / 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closedByInterrupt();
        }
    }

    private void closedByInterrupt() {
        closed = true;
        dropSessions();
        try {
            transport.close();
        } catch (IOException e) {
            log.debug("closing the transport failed", e);
        }
    }

    /** Nanoseconds since the epoch, strictly greater than the last one even if the clock stalls or steps back. */
    private long nextTimestamp() {
        Instant now = clock.instant();
        long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        synchronized (state) {
            lastTimestamp = Math.max(nanos, lastTimestamp + 1);
            return lastTimestamp;
        }
    }

    private void send(byte[] d, int length) throws IOException {
        try {
            transport.send(ByteBuffer.wrap(d, 0, length));
        } catch (PortUnreachableException e) {
            throw nothingListens(e);
        }
    }

    private IOException nothingListens(PortUnreachableException e) {
        return new IOException("the rendezvous server's host " + transport.server()
                + " reports that nothing listens on that UDP port", e);
    }

    private static PeerEndpoint toPeerEndpoint(WireEndpoint e) {
        PeerEndpoint.Kind kind = switch (e.kind()) {
            case LOCAL -> PeerEndpoint.Kind.LOCAL;
            case RELAY -> PeerEndpoint.Kind.RELAY;
            default -> PeerEndpoint.Kind.SERVER_REFLEXIVE;
        };
        return new PeerEndpoint(kind, new InetSocketAddress(e.address(), e.port()));
    }

    private static String errorName(int code) {
        return switch (code) {
            case ErrorMessage.MALFORMED -> "it says our request was malformed";
            case ErrorMessage.UNSUPPORTED -> "not supported";
            case ErrorMessage.UNAVAILABLE -> "unavailable there";
            case ErrorMessage.RATE_LIMITED -> "rate limited";
            default -> "error " + code;
        };
    }

    private static String describe(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
    }
}
