package dev.natpunch.server;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.net.Endpoints;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Rejection;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
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
 * out. Thread-safe; each calling thread brings its own {@link Scratch}. A version 1 lookup (found
 * or not) allocates nothing unless INFO logging for {@code dev.natpunch.server} or a listener is
 * on; a handshake reuses its thread's Noise responder and allocates its session. Version 2's
 * sealed requests are handled by {@link SealedRequests}.
 *
 * <p>The socket layer may split the work: {@link #admitHandshake} (cheap checks) on the receiving
 * thread, {@link #handshake} (the key exchange) on a handshake thread; {@link #handle} does both
 * in one call.
 */
final class PacketHandler {
    /** Lookups are logged under the public interface's name, which is what operators filter on. */
    private static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);
    private static final long PURGE_INTERVAL_NANOS = 1_000_000_000L;
    /** Evictions one handshake may try when a table is full (another thread may take the room made). */
    private static final int EVICTION_ATTEMPTS = 4;
    /** Idle sessions looked at for one whose key never sent a request, so that a full registry costs little per handshake. */
    private static final int EVICTION_SCAN = 64;

    /** Per-thread working memory, so that the hot path needs no allocation. */
    static final class Scratch {
        final byte[] plain = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
        /** Message 1's payload: the timestamp and at most one capability block. */
        final byte[] payload = new byte[Wire.TIMESTAMP_LENGTH + V2Wire.MAX_CAPABILITY_BLOCK];
        final byte[] block = new byte[V2Wire.MAX_CAPABILITY_BLOCK];
        final byte[] endpoint = new byte[Wire.ENDPOINT_PLAINTEXT_LENGTH];
        /** A sealed request's plaintext. */
        final byte[] request = new byte[V2Wire.MAX_PLAINTEXT];
        /** A sealed answer's plaintext, with room for one more entry than fits, written before the size check. */
        final byte[] answer = new byte[V2Wire.MAX_PLAINTEXT + Push.ENTRY_HEADER_LENGTH
                + V2Wire.MAX_ENDPOINTS_PER_PEER * WireEndpoint.LENGTH];
        /** Set by {@link #handle}: the slot of the socket the answer goes out of, -1 for the arrival socket. */
        int sendFrom = -1;
        /** The client key of the handshake being processed. */
        final byte[] clientKey = new byte[Key.LENGTH];
        private PacketHandler handshakesFor;
        private NoiseHandshake responder;
        private HandshakeSecrets secrets;

        /** This thread's responder for {@code h}'s key, reset for a new message 1. */
        NoiseHandshake responder(PacketHandler h) {
            bind(h);
            responder.reset();
            return responder;
        }

        HandshakeSecrets secrets(PacketHandler h) {
            bind(h);
            return secrets;
        }

        private void bind(PacketHandler h) {
            if (handshakesFor != h) {
                responder = NoiseHandshake.responder(h.serverKeys, NoiseHandshake.NATPUNCH_PROLOGUE);
                secrets = new HandshakeSecrets(h.registry);
                handshakesFor = h;
            }
        }
    }

    /** The features this server implements without sockets; a session gets the ones its client offered too. */
    static final long SERVER_FEATURES = V2Wire.FEATURE_BATCH_LOOKUP | V2Wire.FEATURE_DUAL_STACK
            | V2Wire.FEATURE_CANDIDATES;

    private final KeyPair serverKeys;
    final Clock clock;
    final long registrationTtlMillis;
    final long sessionTtlMillis;
    final ServerListener listener;
    /** The highest protocol version spoken: 1 behaves like natpunch-go's server. */
    final int protocolVersion;
    final VersionClock versions;
    final SealedRequests sealed;
    final Pushes pushes;
    /** Null when every key is served. */
    final AllowList allowList;
    /** Mutual mode: A is shown to B only if A asked for B. */
    final boolean mutual;
    /** Null when this server offers no relay. */
    final RelayRequests relay;
    final Registry registry;
    final SessionTable sessions;
    /** Null when handshakes are not rate limited. */
    final HandshakeRateLimiter limiter;

    private final LongAdder handshakesOk = new LongAdder();
    private final LongAdder handshakesFailed = new LongAdder();
    private final LongAdder lookupsHit = new LongAdder();
    private final LongAdder lookupsMiss = new LongAdder();
    private final LongAdder handshakesV2 = new LongAdder();
    private final LongAdder offersRejected = new LongAdder();
    private final LongAdder sessionsEvicted = new LongAdder();
    private final LongAdder[] drops = new LongAdder[DropReason.values().length];
    private final AtomicLong lastPurgeNanos = new AtomicLong(System.nanoTime() - PURGE_INTERVAL_NANOS);

    PacketHandler(ServerConfig config) {
        this.serverKeys = config.keyPair;
        this.clock = config.clock;
        this.registrationTtlMillis = config.registrationTtlMillis;
        this.sessionTtlMillis = config.sessionTtlMillis;
        this.listener = config.listener;
        this.protocolVersion = config.extensions.protocolVersion();
        this.versions = new VersionClock(clock.millis());
        this.sealed = new SealedRequests(this);
        this.pushes = new Pushes(this, config.extensions.subscriptionsPerSession(),
                config.extensions.totalSubscriptions());
        this.allowList = config.extensions.allowList();
        this.mutual = config.extensions.mutual();
        this.relay = config.relay == null ? null : new RelayRequests(this, config.relay);
        this.registry = new Registry(config.maxRegistrations);
        this.sessions = new SessionTable(config.maxSessions);
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
     * @param out room for {@link V2Wire#MAX_DATAGRAM} bytes, or for {@code len} when smaller: an
     *     answer is never longer than the datagram it answers
     * @return the length of the answer written to {@code out} at {@code outOff}, or -1 to send
     *     nothing
     */
    int handle(byte[] in, int off, int len, InetSocketAddress source, byte[] out, int outOff, Scratch scratch) {
        return handle(in, off, len, source, null, out, outOff, scratch);
    }

    /**
     * Processes one datagram that arrived on socket {@code at} (null: a primary socket not
     * known to the handler, as in benchmarks). Never throws. {@code scratch.sendFrom} says which
     * socket the answer leaves from.
     */
    int handle(byte[] in, int off, int len, InetSocketAddress source, BoundSocket at, byte[] out, int outOff,
               Scratch scratch) {
        scratch.sendFrom = -1;
        try {
            if (len <= 0) {
                return drop(DropReason.EMPTY, source);
            }
            if (at != null && !at.primary()) {
                // Probe sockets answer PROBE only and never touch a registration (6.4, 6.6).
                if (in[off] != V2Wire.TYPE_SEALED_TO_SERVER || protocolVersion < 2) {
                    return drop(DropReason.PROBE_SOCKET, source);
                }
                return sealed.handle(in, off, len, source, at, out, outOff, scratch);
            }
            switch (in[off]) {
                case Wire.TYPE_HANDSHAKE_INITIATION:
                    return admitHandshake(in, off, len, source) ? handshake(in, off, len, source, out, outOff, scratch)
                            : -1;
                case Wire.TYPE_DATA:
                    if (len != Wire.LOOKUP_REQUEST_LENGTH) {
                        return drop(len < Wire.LOOKUP_REQUEST_LENGTH ? DropReason.TOO_SHORT : DropReason.TOO_LONG, source);
                    }
                    return lookup(in, off, source, out, outOff, scratch);
                case Wire.TYPE_HANDSHAKE_RESPONSE:
                    return drop(DropReason.WRONG_DIRECTION, source);
                case V2Wire.TYPE_SEALED_TO_SERVER:
                    if (protocolVersion < 2) {
                        return drop(DropReason.UNKNOWN_TYPE, source);
                    }
                    return sealed.handle(in, off, len, source, at, out, outOff, scratch);
                case V2Wire.TYPE_SEALED_TO_CLIENT:
                    return drop(protocolVersion < 2 ? DropReason.UNKNOWN_TYPE : DropReason.WRONG_DIRECTION, source);
                default:
                    return drop(DropReason.UNKNOWN_TYPE, source);
            }
        } catch (RuntimeException e) {
            log.warn("Unexpected error while processing a datagram from {}; the server keeps serving", source, e);
            return drop(DropReason.INTERNAL_ERROR, source);
        }
    }

    /**
     * The checks of a message 1 that cost no cryptography: its length and its source's rate
     * limit. Counts the drop and returns false when it fails them. Never throws.
     */
    boolean admitHandshake(byte[] in, int off, int len, InetSocketAddress source) {
        try {
            V2Rejection r = V2Handshake.checkInitiation(in, off, len);
            if (r != null) {
                drop(r == V2Rejection.TOO_SHORT ? DropReason.TOO_SHORT : DropReason.TOO_LONG, source);
                return false;
            }
            if (limiter != null && !limiter.tryAcquire(source.getAddress(), clock.millis())) {
                drop(DropReason.RATE_LIMITED, source);
                return false;
            }
            return true;
        } catch (RuntimeException e) {
            log.warn("Unexpected error while checking a handshake from {}; the server keeps serving", source, e);
            drop(DropReason.INTERNAL_ERROR, source);
            return false;
        }
    }

    /**
     * Runs the key exchange of a message 1 that {@link #admitHandshake} let through and registers
     * its client. Never throws.
     *
     * @return the length of message 2 written to {@code out} at {@code outOff}, or -1
     */
    int handshake(byte[] in, int off, int len, InetSocketAddress source, byte[] out, int outOff, Scratch scratch) {
        HandshakeSecrets secrets = scratch.secrets(this);
        try {
            return handshakeOrDrop(in, off, len, source, out, outOff, scratch, secrets);
        } catch (RuntimeException e) {
            log.warn("Unexpected error while processing a handshake from {}; the server keeps serving", source, e);
            return drop(DropReason.INTERNAL_ERROR, source);
        } finally {
            secrets.forget();
        }
    }

    private int handshakeOrDrop(byte[] in, int off, int len, InetSocketAddress source, byte[] out, int outOff,
                                Scratch scratch, HandshakeSecrets secrets) {
        long now = clock.millis();
        NoiseHandshake noise = scratch.responder(this);
        secrets.begin(source);
        int payloadLength;
        try {
            payloadLength = V2Handshake.readInitiation(noise, in, off, len, scratch.payload, secrets);
        } catch (HandshakeException e) {
            return failHandshake(DropReason.HANDSHAKE_INVALID, source);
        }
        long timestamp = Wire.readLong(scratch.payload, 0);
        Capabilities answer = negotiate(scratch.payload, payloadLength, source);
        byte[] client = scratch.clientKey;
        noise.copyRemoteStaticKey(client, 0);
        if (allowList != null && !allowList.contains(client, 0)) {
            // Never registered; to the client it looks like a server that is not there (section 7).
            return failHandshake(DropReason.NOT_ALLOWED, source);
        }
        int proposal = HandshakeInitiation.proposedIndex(in, off);
        Session session = null;
        int responseLength = -1;
        // A slot of the session table's capacity, taken before the session is made, so that room
        // made by evicting cannot be taken by another thread in between.
        boolean slot = false;
        try {
            while (session == null) {
                Registration reg = registry.findOrCreate(client, 0, now);
                if (reg == null) {
                    reg = registerWhenFull(client, now);
                    if (reg == null) {
                        return failHandshake(DropReason.REGISTRATIONS_FULL, source);
                    }
                }
                if (!slot && reg.session == null) {
                    // Outside reg's monitor: evicting locks the victim's registration.
                    slot = reserveSessionSlot();
                    if (!slot) {
                        dropIfNeverCompleted(reg);
                        return failHandshake(DropReason.SESSIONS_FULL, source);
                    }
                }
                synchronized (reg) {
                    if (reg.removed) {
                        continue;
                    }
                    if (reg.hasTimestamp && Long.compareUnsigned(timestamp, reg.lastTimestamp) <= 0) {
                        return failHandshake(DropReason.HANDSHAKE_REPLAY, source);
                    }
                    // The client's old session goes first: its slot becomes the new one's.
                    Session old = reg.session;
                    if (old != null) {
                        reg.session = null;
                        if (slot ? sessions.remove(old) : sessions.removeKeepingSlot(old)) {
                            old.destroy();
                            slot = true;
                        }
                    }
                    if (!slot) {
                        continue; // the old session was evicted or expired meanwhile: find room again
                    }
                    // The index is written once the session has one; it is outside the Noise message.
                    responseLength = V2Handshake.encodeResponse(noise, 0, answer, len, scratch.block, out, outOff);
                    if (responseLength < 0) {
                        answer = null;
                        responseLength = V2Handshake.encodeResponse(noise, 0, null, len, scratch.block, out, outOff);
                    }
                    TransportKeys keys = noise.split();
                    Registration owner = reg;
                    int version = answer == null ? 1 : answer.version();
                    long features = answer == null ? 0 : answer.features();
                    session = sessions.insertReserved(proposal,
                            index -> new Session(index, owner, keys.receiver(), keys.sender(), now, version, features, pushes));
                    slot = false;
                    reg.session = session;
                    reg.hasTimestamp = true;
                    reg.lastTimestamp = timestamp;
                    refreshLocked(reg, source, now);
                    secrets.storeLocked(reg);
                }
            }
        } finally {
            if (slot) {
                sessions.release();
            }
        }
        Wire.writeInt(out, outOff + Wire.INDEX_OFFSET, session.index);
        handshakesOk.increment();
        if (session.version >= 2) {
            handshakesV2.increment();
        }
        if (log.isDebugEnabled()) {
            log.debug("{} registered at {} (session index {}, protocol version {})", session.owner.key().toBase64(),
                    Endpoints.format(source), Integer.toUnsignedString(session.index), session.version);
        }
        if (listener != null) {
            InetSocketAddress at = Endpoint.of(source).address;
            try {
                listener.onRegistration(session.owner.key(), at);
            } catch (RuntimeException e) {
                log.warn("ServerListener.onRegistration threw", e);
            }
        }
        return responseLength;
    }

    /**
     * Takes a session slot for a handshake; while the table is full, after expired sessions (at
     * most one sweep a second), the slot of the oldest session that never carried a request. A
     * flood of handshakes from random keys therefore replaces its own sessions and never locks
     * out a client that uses its session; the table is refused to new keys only when every
     * session in it has carried requests.
     *
     * @return false when no slot could be had
     */
    private boolean reserveSessionSlot() {
        if (sessions.reserve()) {
            return true;
        }
        purgeIfDue();
        for (int i = 0; i < EVICTION_ATTEMPTS; i++) {
            if (sessions.reserve()) {
                return true;
            }
            Session victim = sessions.takeOldestIdle(s -> true, 1);
            if (victim == null) {
                return false;
            }
            if (evict(victim, true)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Registers {@code client} while the registry is full: after expired entries (at most one
     * sweep a second), in place of the oldest key that never sent a request and whose only
     * session is idle, which is what a flood from random keys leaves (see {@link #evict}).
     *
     * @return the new registration, or null when the registry stays full
     */
    private Registration registerWhenFull(byte[] client, long now) {
        purgeIfDue();
        for (int i = 0; i < EVICTION_ATTEMPTS; i++) {
            Registration reg = registry.findOrCreate(client, 0, now);
            if (reg != null) {
                return reg;
            }
            Session victim = sessions.takeOldestIdle(s -> !s.owner.used, EVICTION_SCAN);
            if (victim == null) {
                return null;
            }
            evict(victim, false);
        }
        return registry.findOrCreate(client, 0, now);
    }

    /**
     * Retires {@code victim} and, when its key never sent a request either (nobody has reason to
     * keep it: a client that registers and never asks for a peer is what a flood looks like),
     * its registration.
     *
     * @param keepSlot hand the victim's slot to the caller ({@link SessionTable#removeKeepingSlot})
     * @return whether the victim was still in the table (and its slot freed or handed over)
     */
    private boolean evict(Session victim, boolean keepSlot) {
        Registration owner = victim.owner;
        boolean freed;
        synchronized (owner) {
            if (owner.session == victim) {
                owner.session = null;
            }
            freed = keepSlot ? sessions.removeKeepingSlot(victim) : sessions.remove(victim);
            if (freed) {
                victim.destroy();
            }
        }
        if (!freed) {
            return false;
        }
        sessionsEvicted.increment();
        registry.remove(owner, r -> !r.used && r.session == null, r -> pushes.changed(r));
        return true;
    }

    /** Drops a registration whose first handshake could not complete, so that refused handshakes leave nothing behind. */
    private void dropIfNeverCompleted(Registration reg) {
        registry.remove(reg, r -> r.session == null && !r.used && r.endpoint4 == 0 && r.extras == null, r -> { });
    }

    /**
     * The capability block of message 2, or null to answer as version 1: when this server speaks
     * version 1 only, or message 1 carried no block (natpunch-go and version 1 clients), or one
     * that does not pass the checks (counted; the handshake itself is authentic and goes ahead).
     */
    private Capabilities negotiate(byte[] payload, int payloadLength, InetSocketAddress source) {
        int blockLength = payloadLength - Wire.TIMESTAMP_LENGTH;
        if (blockLength <= 0 || protocolVersion < 2) {
            return null;
        }
        V2Rejection r = Capabilities.check(payload, Wire.TIMESTAMP_LENGTH, blockLength, false);
        if (r != null) {
            offersRejected.increment();
            log.debug("Answering {} as version 1: its capability block is invalid ({})", source, r);
            return null;
        }
        Capabilities offer = Capabilities.read(payload, Wire.TIMESTAMP_LENGTH, blockLength, false);
        WireEndpoint observed = WireEndpoint.read(Endpoint.of(source).wire, 0);
        int lifetime = (int) Math.min(65535, sessionTtlMillis / 1000);
        return Capabilities.answer(offer, V2Wire.VERSION, serverFeatures(), observed, lifetime);
    }

    /**
     * What this server offers: pushes need the push thread, which only a server with sockets has,
     * probing needs probe sockets and relaying needs a relay.
     */
    long serverFeatures() {
        return SERVER_FEATURES | (pushes.enabled() ? V2Wire.FEATURE_PUSH | V2Wire.FEATURE_INTEREST : 0)
                | (sealed.probing() ? V2Wire.FEATURE_NAT_PROBE : 0)
                | (relay != null ? V2Wire.FEATURE_RELAY : 0);
    }

    /**
     * Records that an authenticated datagram of {@code reg}'s client came from {@code source}: the
     * server-reflexive endpoint of that family is refreshed, or replaced when the client moved.
     * Allocation-free and lock-free unless the endpoint changes.
     */
    void touch(Registration reg, InetSocketAddress source, long now) {
        long p = Endpoint.pack4(source);
        if (p != 0) {
            if (reg.endpoint4 == p) {
                reg.seen4Millis = now;
                reg.lastSeenMillis = now;
                return;
            }
        } else {
            Registration.Extras x = reg.extras;
            Endpoint e6 = x == null ? null : x.endpoint6;
            if (e6 != null && e6.matches(source)) {
                x.seen6Millis = now;
                reg.lastSeenMillis = now;
                return;
            }
        }
        synchronized (reg) {
            refreshLocked(reg, source, now);
        }
    }

    /** {@link #touch} with {@code reg}'s monitor held. */
    void refreshLocked(Registration reg, InetSocketAddress source, long now) {
        long p = Endpoint.pack4(source);
        boolean changed = false;
        if (p != 0) {
            changed = reg.endpoint4 != p;
            reg.endpoint4 = p;
            reg.seen4Millis = now;
        } else {
            Registration.Extras x = reg.extrasLocked();
            Endpoint e6 = x.endpoint6;
            if (e6 == null || !e6.matches(source)) {
                x.endpoint6 = Endpoint.of(source);
                changed = true;
            }
            x.seen6Millis = now;
        }
        reg.lastSeenMillis = now;
        if (changed) {
            endpointsChanged(reg, now);
        }
    }

    /** A new version for a changed endpoint set; {@code reg}'s monitor is held. */
    void endpointsChanged(Registration reg, long now) {
        reg.version = versions.next(now);
        pushes.changed(reg);
    }

    /**
     * An authenticated request (not a handshake) arrived on {@code session}: neither it nor its
     * key is what a flood leaves behind, so a full table keeps them.
     */
    void markUsed(Session session) {
        if (!session.used) {
            sessions.markUsed(session);
            session.owner.used = true;
        }
    }

    /**
     * Whether {@code requester} may see {@code target} (section 7): both on the allow-list, if
     * there is one, and in mutual mode the target asked for the requester during its current
     * registration. Everyone may see themselves.
     */
    boolean visible(Registration requester, Registration target) {
        AllowList allow = allowList;
        if (allow != null && (!allow.contains(requester.keyBytes, 0) || !allow.contains(target.keyBytes, 0))) {
            return false;
        }
        return !mutual || requester == target || target.hasAsked(requester);
    }

    /**
     * Mutual mode: records that {@code requester} asked for the key at {@code b[off..]}. The first
     * time, the requester becomes visible to that key's owner, which is a change to push.
     */
    void recordAsked(Registration requester, byte[] b, int off) {
        if (mutual && requester.recordAsked(b, off)) {
            pushes.changed(requester);
        }
    }

    /**
     * {@code requester} looked up {@code target} (version 1 or 2): the target's session, if it
     * negotiated INTEREST, is pushed the requester's endpoints (protocol-v2.md 6.3).
     */
    void lookedUp(Registration requester, Registration target, long now) {
        Session s = target != null && target != requester ? target.session : null;
        if (s != null && s.push != null && s.has(V2Wire.FEATURE_INTEREST)
                && s.push.interested(KeyRef.wrap(requester.keyBytes), now)) {
            pushes.wake(s.push);
        }
    }

    /** Counts an authenticated datagram toward the session's return address for pushes (6.3). */
    void noteDatagram(Session session, InetSocketAddress source, int len) {
        PushState push = session.push;
        if (push != null && push.onDatagram(source, len)) {
            pushes.wake(push);
        }
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
        if (!owner.keyEquals(plain, Wire.LOOKUP_OWN_KEY_OFFSET)) {
            return drop(DropReason.WRONG_CLIENT_KEY, source);
        }
        markUsed(session);
        touch(owner, source, now);
        noteDatagram(session, source, Wire.LOOKUP_REQUEST_LENGTH);

        Registration target = registry.find(plain, Wire.LOOKUP_PEER_KEY_OFFSET);
        long found = 0;
        recordAsked(owner, plain, Wire.LOOKUP_PEER_KEY_OFFSET);
        lookedUp(owner, target, now);
        if (target != null && !target.removed && !target.isExpired(now, registrationTtlMillis)
                && visible(owner, target)) {
            // Type 3 answers carry IPv4 only, in version 2 sessions too (protocol-v2.md 3.3).
            found = target.liveEndpoint4(now, registrationTtlMillis);
        }
        long counter = session.nextSendCounter();
        int n = found != 0
                ? LookupResponse.encodeFound(session.sender, counter, Endpoint.ip4(found), Endpoint.port4(found),
                        scratch.endpoint, out, outOff)
                : LookupResponse.encodeNotFound(session.sender, counter, out, outOff);
        if (session.removed) {
            // A newer handshake destroyed the keys while this answer was sealed: it may be garbage.
            return drop(DropReason.UNKNOWN_SESSION, source);
        }
        countLookup(found != 0);
        if (log.isInfoEnabled()) {
            // natpunch-go's format: the first 16 base64 characters (12 bytes) of each key.
            Base64.Encoder b64 = Base64.getEncoder();
            log.info("{} ==> {}: {}", b64.encodeToString(Arrays.copyOfRange(plain, 0, 12)),
                    b64.encodeToString(Arrays.copyOfRange(plain, 32, 44)), found != 0 ? "CONNECTED" : "NOT FOUND");
        }
        if (listener != null) {
            Key targetKey = target != null ? target.key() : Key.fromBytes(Arrays.copyOfRange(plain, 32, 64));
            try {
                listener.onLookup(owner.key(), targetKey, found != 0 ? Optional.of(Endpoint.address4(found))
                        : Optional.empty());
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

    void countLookup(boolean found) {
        if (found) {
            lookupsHit.increment();
        } else {
            lookupsMiss.increment();
        }
    }

    int drop(DropReason reason, InetSocketAddress source) {
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
            pushes.changed(reg);
        });
        registry.forEach(reg -> expireFamilies(reg, now));
        if (!expired.isEmpty() || gone > 0) {
            log.debug("Expired {} sessions and {} registrations", expired.size(), gone);
        }
    }

    /** Drops a server-reflexive endpoint whose family was not refreshed for the registration TTL (6.4). */
    private void expireFamilies(Registration reg, long now) {
        if (!stale4(reg, now) && !stale6(reg, now)) {
            return;
        }
        synchronized (reg) {
            boolean changed = false;
            if (stale4(reg, now)) {
                reg.endpoint4 = 0;
                changed = true;
            }
            if (stale6(reg, now)) {
                reg.extras.endpoint6 = null;
                changed = true;
            }
            if (changed && !reg.removed) {
                endpointsChanged(reg, now);
            }
        }
    }

    private boolean stale4(Registration reg, long now) {
        return reg.endpoint4 != 0 && now - reg.seen4Millis > registrationTtlMillis;
    }

    private boolean stale6(Registration reg, long now) {
        Registration.Extras x = reg.extras;
        return x != null && x.endpoint6 != null && now - x.seen6Millis > registrationTtlMillis;
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
                lookupsHit.sum(), lookupsMiss.sum(), byReason, handshakesV2.sum(), offersRejected.sum(),
                sealed.requests(), sealed.errors(), pushes.total(), pushes.sent(), sessionsEvicted.sum());
    }
}
