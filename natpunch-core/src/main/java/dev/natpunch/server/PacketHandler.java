package dev.natpunch.server;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Messages;
import dev.natpunch.protocol.Rejection;
import dev.natpunch.protocol.Wire;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's protocol logic, independent of any socket: one datagram in, at most one datagram
 * out. Thread-safe; each calling thread brings its own {@link Scratch}. A lookup (found or not)
 * allocates nothing unless INFO logging for {@code dev.natpunch.server} or a listener is on; a
 * handshake allocates its Noise state and session.
 */
final class PacketHandler {
    /** Lookups are logged under the public interface's name, which is what operators filter on. */
    private static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);
    private static final long PURGE_INTERVAL_NANOS = 1_000_000_000L;

    /** Per-thread working memory, so that the hot path needs no allocation. */
    static final class Scratch {
        final byte[] plain = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
        final byte[] payload = new byte[Wire.INITIATION_NOISE_LENGTH];
        final byte[] endpoint = new byte[Wire.ENDPOINT_PLAINTEXT_LENGTH];
    }

    private final KeyPair serverKeys;
    private final Clock clock;
    private final long registrationTtlMillis;
    private final long sessionTtlMillis;
    private final ServerListener listener;
    final Registry registry;
    final SessionTable sessions;
    private final int maxSessions;
    /** Null when handshakes are not rate limited. */
    final HandshakeRateLimiter limiter;

    private final LongAdder handshakesOk = new LongAdder();
    private final LongAdder handshakesFailed = new LongAdder();
    private final LongAdder lookupsHit = new LongAdder();
    private final LongAdder lookupsMiss = new LongAdder();
    private final LongAdder[] drops = new LongAdder[DropReason.values().length];
    private final AtomicLong lastPurgeNanos = new AtomicLong(System.nanoTime() - PURGE_INTERVAL_NANOS);

    PacketHandler(ServerConfig config) {
        this.serverKeys = config.keyPair;
        this.clock = config.clock;
        this.registrationTtlMillis = config.registrationTtlMillis;
        this.sessionTtlMillis = config.sessionTtlMillis;
        this.listener = config.listener;
        this.registry = new Registry(config.maxRegistrations);
        this.sessions = new SessionTable(config.maxSessions);
        this.maxSessions = config.maxSessions;
        this.limiter = config.handshakesPerSecond > 0
                ? new HandshakeRateLimiter(config.handshakesPerSecond, config.handshakeBurst,
                        HandshakeRateLimiter.DEFAULT_MAX_SOURCES, clock.millis())
                : null;
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
    }

    Key publicKey() {
        return serverKeys.publicKey();
    }

    /**
     * Processes one datagram. Never throws.
     *
     * @param source the datagram's sender, as the socket reported it
     * @return the length of the answer written to {@code out} at {@code outOff} (at most
     *     {@link Wire#MAX_MESSAGE_LENGTH} bytes), or -1 to send nothing
     */
    int handle(byte[] in, int off, int len, InetSocketAddress source, byte[] out, int outOff, Scratch scratch) {
        try {
            Rejection rejection = Messages.checkToServer(in, off, len);
            if (rejection != null) {
                return drop(map(rejection), source);
            }
            if (in[off] == Wire.TYPE_HANDSHAKE_INITIATION) {
                if (limiter != null && !limiter.tryAcquire(source.getAddress(), clock.millis())) {
                    return drop(DropReason.RATE_LIMITED, source);
                }
                return handshake(in, off, source, out, outOff, scratch);
            }
            return lookup(in, off, source, out, outOff, scratch);
        } catch (RuntimeException e) {
            log.warn("Unexpected error while processing a datagram from {}; the server keeps serving", source, e);
            return drop(DropReason.INTERNAL_ERROR, source);
        }
    }

    private int handshake(byte[] in, int off, InetSocketAddress source, byte[] out, int outOff, Scratch scratch) {
        long now = clock.millis();
        NoiseHandshake noise = NoiseHandshake.responder(serverKeys, NoiseHandshake.NATPUNCH_PROLOGUE);
        long timestamp;
        try {
            timestamp = HandshakeInitiation.read(noise, in, off, scratch.payload);
        } catch (HandshakeException e) {
            return failHandshake(DropReason.HANDSHAKE_INVALID, source);
        }
        Key client = noise.remoteStaticKey();
        int proposal = HandshakeInitiation.proposedIndex(in, off);
        if (sessions.size() >= maxSessions) {
            purgeIfDue();
        }
        Session session;
        Registration reg;
        while (true) {
            reg = registry.findOrCreate(client, now);
            if (reg == null) {
                purgeIfDue();
                reg = registry.findOrCreate(client, now);
                if (reg == null) {
                    return failHandshake(DropReason.REGISTRATIONS_FULL, source);
                }
            }
            synchronized (reg) {
                if (reg.removed) {
                    continue;
                }
                if (reg.hasTimestamp && Long.compareUnsigned(timestamp, reg.lastTimestamp) <= 0) {
                    return failHandshake(DropReason.HANDSHAKE_REPLAY, source);
                }
                HandshakeResponse.encode(noise, 0, out, outOff);
                TransportKeys keys = noise.split();
                Registration owner = reg;
                session = sessions.insert(proposal,
                        index -> new Session(index, owner, keys.receiver(), keys.sender(), now));
                if (session == null && reg.session != null) {
                    // The client's old session is replaced anyway: free its slot first, so that a
                    // table filled by a flood never locks out a client that already has a session.
                    Session previous = reg.session;
                    reg.session = null;
                    if (sessions.remove(previous)) {
                        previous.destroy();
                    }
                    session = sessions.insert(proposal,
                            index -> new Session(index, owner, keys.receiver(), keys.sender(), now));
                }
                if (session == null) {
                    keys.receiver().destroy();
                    keys.sender().destroy();
                    return failHandshake(DropReason.SESSIONS_FULL, source);
                }
                Session old = reg.session;
                reg.session = session;
                reg.hasTimestamp = true;
                reg.lastTimestamp = timestamp;
                Endpoint endpoint = reg.endpoint;
                if (endpoint == null || !endpoint.matches(source)) {
                    reg.endpoint = Endpoint.of(source);
                }
                reg.lastSeenMillis = now;
                if (old != null) {
                    sessions.remove(old);
                    old.destroy();
                }
                break;
            }
        }
        Wire.writeInt(out, outOff + Wire.INDEX_OFFSET, session.index);
        handshakesOk.increment();
        if (log.isDebugEnabled()) {
            log.debug("{} registered at {} (session index {})", reg.key.toBase64(), reg.endpoint.address,
                    Integer.toUnsignedString(session.index));
        }
        if (listener != null) {
            InetSocketAddress at = reg.endpoint.address;
            try {
                listener.onRegistration(client, at);
            } catch (RuntimeException e) {
                log.warn("ServerListener.onRegistration threw", e);
            }
        }
        return Wire.RESPONSE_LENGTH;
    }

    private int failHandshake(DropReason reason, InetSocketAddress source) {
        handshakesFailed.increment();
        return drop(reason, source);
    }

    private int lookup(byte[] in, int off, InetSocketAddress source, byte[] out, int outOff, Scratch scratch) {
        Session session = sessions.get(LookupRequest.sessionIndex(in, off));
        if (session == null || session.removed) {
            return drop(DropReason.UNKNOWN_SESSION, source);
        }
        long now = clock.millis();
        if (session.isExpired(now, sessionTtlMillis)) {
            return drop(DropReason.SESSION_EXPIRED, source);
        }
        byte[] plain = scratch.plain;
        if (!LookupRequest.open(session.receiver, in, off, plain, 0)) {
            return drop(DropReason.DECRYPTION_FAILED, source);
        }
        if (!session.replayWindow.accept(LookupRequest.counter(in, off))) {
            return drop(DropReason.COUNTER_REPLAY, source);
        }
        Registration owner = session.owner;
        if (!owner.key.equalsBytes(plain, Wire.LOOKUP_OWN_KEY_OFFSET)) {
            return drop(DropReason.WRONG_CLIENT_KEY, source);
        }
        Endpoint own = owner.endpoint;
        if (own == null || !own.matches(source)) {
            owner.endpoint = Endpoint.of(source);
        }
        owner.lastSeenMillis = now;

        Registration target = registry.find(plain, Wire.LOOKUP_PEER_KEY_OFFSET);
        Endpoint found = null;
        if (target != null && !target.removed && !target.isExpired(now, registrationTtlMillis)) {
            Endpoint e = target.endpoint;
            if (e != null && e.ipv4) {
                found = e;
            }
        }
        long counter = session.sendCounter.getAndIncrement();
        int n = found != null
                ? LookupResponse.encodeFound(session.sender, counter, found.ip, found.port, scratch.endpoint, out, outOff)
                : LookupResponse.encodeNotFound(session.sender, counter, out, outOff);
        if (session.removed) {
            // A newer handshake destroyed the keys while this answer was sealed: it may be garbage.
            return drop(DropReason.UNKNOWN_SESSION, source);
        }
        if (found != null) {
            lookupsHit.increment();
        } else {
            lookupsMiss.increment();
        }
        if (log.isInfoEnabled()) {
            // natpunch-go's format: the first 16 base64 characters (12 bytes) of each key.
            Base64.Encoder b64 = Base64.getEncoder();
            log.info("{} ==> {}: {}", b64.encodeToString(Arrays.copyOfRange(plain, 0, 12)),
                    b64.encodeToString(Arrays.copyOfRange(plain, 32, 44)), found != null ? "CONNECTED" : "NOT FOUND");
        }
        if (listener != null) {
            Key targetKey = target != null ? target.key : Key.fromBytes(Arrays.copyOfRange(plain, 32, 64));
            try {
                listener.onLookup(owner.key, targetKey, found != null ? Optional.of(found.address) : Optional.empty());
            } catch (RuntimeException e) {
                log.warn("ServerListener.onLookup threw", e);
            }
        }
        return n;
    }

    /** Counts a datagram the socket layer could not answer. */
    void countSendFailure(InetSocketAddress destination) {
        drop(DropReason.SEND_FAILED, destination);
    }

    private int drop(DropReason reason, InetSocketAddress source) {
        drops[reason.ordinal()].increment();
        if (log.isDebugEnabled()) {
            log.debug("Dropped a datagram from {}: {}", source, reason);
        }
        if (listener != null) {
            try {
                listener.onDrop(reason, source);
            } catch (RuntimeException e) {
                log.warn("ServerListener.onDrop threw", e);
            }
        }
        return -1;
    }

    private static DropReason map(Rejection rejection) {
        switch (rejection) {
            case EMPTY:
                return DropReason.EMPTY;
            case UNKNOWN_TYPE:
                return DropReason.UNKNOWN_TYPE;
            case WRONG_DIRECTION:
                return DropReason.WRONG_DIRECTION;
            case TOO_SHORT:
                return DropReason.TOO_SHORT;
            case TOO_LONG:
                return DropReason.TOO_LONG;
            default:
                // WRONG_LENGTH only concerns lookup responses, which checkToServer never accepts.
                return DropReason.INTERNAL_ERROR;
        }
    }

    /** A full purge when a table is full, at most once a second so that a flood cannot make every packet scan the tables. */
    private void purgeIfDue() {
        long last = lastPurgeNanos.get();
        long nowNanos = System.nanoTime();
        if (nowNanos - last >= PURGE_INTERVAL_NANOS && lastPurgeNanos.compareAndSet(last, nowNanos)) {
            sweep();
        }
    }

    /** Removes expired sessions and registrations. Safe to call from any thread at any time. */
    void sweep() {
        long now = clock.millis();
        List<Session> expired = sessions.expired(now, sessionTtlMillis);
        for (Session s : expired) {
            retire(s);
        }
        int gone = registry.sweep(now, registrationTtlMillis, reg -> {
            Session s = reg.session;
            reg.session = null;
            if (s != null && sessions.remove(s)) {
                s.destroy();
            }
        });
        if (!expired.isEmpty() || gone > 0) {
            log.debug("Expired {} sessions and {} registrations", expired.size(), gone);
        }
    }

    private void retire(Session s) {
        synchronized (s.owner) {
            if (s.owner.session == s) {
                s.owner.session = null;
            }
            if (sessions.remove(s)) {
                s.destroy();
            }
        }
    }

    ServerMetrics metrics() {
        EnumMap<DropReason, Long> byReason = new EnumMap<>(DropReason.class);
        for (DropReason r : DropReason.values()) {
            byReason.put(r, drops[r.ordinal()].sum());
        }
        return new ServerMetrics(registry.size(), sessions.size(), handshakesOk.sum(), handshakesFailed.sum(),
                lookupsHit.sum(), lookupsMiss.sum(), byReason);
    }
}
