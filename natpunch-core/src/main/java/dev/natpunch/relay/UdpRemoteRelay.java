package dev.natpunch.relay;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's end of the control channel. Server workers call {@link #allocate}, {@link
 * #release} and {@link #endpointFacing}: they read and change the side table under one short
 * lock (the last one without it) and send sealed requests themselves, without waiting. The
 * channel's thread does the handshakes, pings, retransmitted releases and expiry, and files the
 * relay's answers.
 */
final class UdpRemoteRelay implements RemoteRelay {
    private static final Logger log = LoggerFactory.getLogger(RemoteRelay.class);
    static final long FORWARD_INTERVAL_MILLIS = 250;
    static final long PING_MILLIS = 1000;
    static final long DOWN_AFTER_MILLIS = 5000;
    private static final long FIRST_RETRY_MILLIS = 1000;
    private static final long MAX_RETRY_MILLIS = 4000;
    private static final long REKEY_MILLIS = 10 * 60_000;
    private static final long PENDING_KEEP_MILLIS = 30_000;
    private static final long READY_KEEP_MILLIS = 60 * 60_000;
    private static final long RELEASE_RETRY_MILLIS = 1000;
    private static final int RELEASE_SENDS = 3;
    private static final int MAX_RELEASES = 4096;

    private final InetSocketAddress control;
    private final Key relayKey;
    private final KeyPair keys;
    private final int maxEntries;
    private final int maxPerClient;
    private final Clock clock;
    private final long seed = new SecureRandom().nextLong();
    private final AtomicInteger ids = new AtomicInteger();

    private final Object lock = new Object();
    /** Read without the lock by {@link #endpointFacing}; changed under {@link #lock}. */
    private final Map<Side, Entry> entries = new ConcurrentHashMap<>();
    private final Map<Key, Integer> perClient = new HashMap<>();
    private final Map<UdpRelay.PairKey, Release> releases = new LinkedHashMap<>();
    private volatile Duration pendingLifetime = Relay.DEFAULT_PENDING_LIFETIME;
    /** When a full table was last swept on demand; guarded by {@link #lock}. */
    private long lastFullSweep = Long.MIN_VALUE / 2;

    /** The current session, null while the relay is away. */
    private volatile ControlSession link;
    private volatile boolean closed;
    private InetSocketAddress relayAddress;
    private volatile Port port;

    // The channel thread's own state.
    private ControlSession previous;
    private NoiseHandshake handshake;
    private long handshakeSentAt;
    private long retryMillis = FIRST_RETRY_MILLIS;
    private long lastHeard;
    private long lastPing;
    private long lastTimestamp;
    private long startedAt;
    private boolean warnedAway;
    private long lastSweep;

    /** One client's side of a pair, asked for through this server, and what the relay said last. */
    private static final class Entry {
        final Key requester;
        int lastForwardId;
        long forwardedAt = Long.MIN_VALUE / 2;
        long requestedAt;
        AllocationResult answer;
        int answerId;
        /** The endpoint of a READY answer, for {@link #endpointFacing} without the lock. */
        volatile InetSocketAddress ready;
        byte[] servedToken;
        /** The latest forward when the token was served: only an answer to a later one may hand it out again. */
        int servedAfterId;

        Entry(Key requester) {
            this.requester = requester;
        }
    }

    /** A release the relay has not acknowledged yet. */
    private static final class Release {
        final Key requester;
        final Key peer;
        int sends;
        long sentAt;

        Release(Key requester, Key peer) {
            this.requester = requester;
            this.peer = peer;
        }
    }

    /** (requester, peer), ordered, with a seeded hash: clients choose the keys. */
    private static final class Side {
        final Key requester;
        final Key peer;
        private final int hash;

        Side(Key requester, Key peer, long seed) {
            this.requester = requester;
            this.peer = peer;
            this.hash = (int) (UdpRelay.mix(seed, requester) * 31 + UdpRelay.mix(seed ^ 1, peer));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Side s && s.requester.equals(requester) && s.peer.equals(peer);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private UdpRemoteRelay(BuilderImpl b) {
        this.control = b.control;
        this.relayKey = b.relayKey;
        this.keys = b.keys;
        this.maxEntries = b.maxEntries;
        this.maxPerClient = b.maxPerClient;
        this.clock = b.clock;
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("the remote relay was closed; build a new one");
        }
        if (port != null) {
            throw new IllegalStateException("the remote relay is already started");
        }
        InetSocketAddress resolved = control;
        if (resolved.isUnresolved()) {
            resolved = new InetSocketAddress(InetAddress.getByName(control.getHostString()), control.getPort());
        }
        relayAddress = resolved;
        InetAddress any = InetAddress.getByName(resolved.getAddress() instanceof java.net.Inet4Address ? "0.0.0.0" : "::");
        port = new Port(new InetSocketAddress(any, 0));
        startedAt = clock.millis();
        port.startThread();
        log.info("Relay at {} (key {}): connecting", describe(), relayKey.toBase64());
    }

    @Override
    public boolean isConnected() {
        return link != null;
    }

    @Override
    public void close() {
        Port p;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            p = port;
        }
        link = null;
        if (p != null) {
            p.closePort();
        }
        synchronized (lock) {
            entries.clear();
            perClient.clear();
            releases.clear();
        }
    }

    private String describe() {
        return control.getHostString() + ":" + control.getPort();
    }

    // ---------------------------------------------------------------- RelayAllocator, on server workers

    @Override
    public AllocationResult allocate(Key requester, Key peer, StandardProtocolFamily family) {
        Objects.requireNonNull(requester, "requester");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(family, "family");
        ControlSession session = link;
        if (session == null || requester.equals(peer)) {
            return AllocationResult.unavailable();
        }
        long now = clock.millis();
        Side side = new Side(requester, peer, seed);
        int forward = 0;
        AllocationResult answer;
        synchronized (lock) {
            Entry e = entries.get(side);
            if (e == null) {
                // At most once a second, so that a full table does not make every request scan it.
                if (entries.size() >= maxEntries && now - lastFullSweep >= 1000) {
                    lastFullSweep = now;
                    sweep(now);
                }
                if (entries.size() >= maxEntries || perClient.getOrDefault(requester, 0) >= maxPerClient) {
                    return AllocationResult.unavailable();
                }
                e = new Entry(requester);
                entries.put(side, e);
                perClient.merge(requester, 1, Integer::sum);
            }
            e.requestedAt = now;
            if (now - e.forwardedAt >= FORWARD_INTERVAL_MILLIS) {
                e.forwardedAt = now;
                e.lastForwardId = forward = nextId();
            }
            answer = serve(e);
        }
        if (forward != 0) {
            byte[] p = new byte[ControlWire.MAX_PLAINTEXT];
            sendSealed(session, p, ControlWire.writeAllocate(p, forward, requester, peer, family));
        }
        return answer;
    }

    /** What the requester gets now: the relay's last answer, with a READY token handed out once. */
    private AllocationResult serve(Entry e) {
        AllocationResult a = e.answer;
        if (a == null) {
            return AllocationResult.pending(pendingLifetime);
        }
        if (a.status() != AllocationResult.Status.READY) {
            return a;
        }
        byte[] token = a.token();
        if (Arrays.equals(token, e.servedToken) && e.answerId - e.servedAfterId <= 0) {
            return AllocationResult.pending(pendingLifetime);
        }
        e.servedToken = token;
        e.servedAfterId = e.lastForwardId;
        return a;
    }

    @Override
    public void release(Key requester, Key peer) {
        Objects.requireNonNull(requester, "requester");
        Objects.requireNonNull(peer, "peer");
        Release r = new Release(requester, peer);
        r.sends = 1;
        r.sentAt = clock.millis();
        synchronized (lock) {
            forget(requester, peer);
            forget(peer, requester);
            if (releases.size() < MAX_RELEASES) {
                releases.put(new UdpRelay.PairKey(requester, peer, seed), r);
            }
        }
        ControlSession session = link;
        if (session != null) {
            sendRelease(session, r);
        }
    }

    @Override
    public Optional<InetSocketAddress> endpointFacing(Key client, Key peer) {
        Entry e = entries.get(new Side(client, peer, seed));
        return e == null ? Optional.empty() : Optional.ofNullable(e.ready);
    }

    @Override
    public Duration pendingLifetime() {
        return pendingLifetime;
    }

    private int nextId() {
        int id = ids.incrementAndGet();
        return id != 0 ? id : ids.incrementAndGet();
    }

    /** Under {@link #lock}. */
    private void forget(Key requester, Key peer) {
        Entry e = entries.remove(new Side(requester, peer, seed));
        if (e != null) {
            perClient.computeIfPresent(e.requester, (k, n) -> n > 1 ? n - 1 : null);
        }
    }

    /** Under {@link #lock}: drops sides nobody asked for lately. */
    private void sweep(long now) {
        long pendingKeep = Math.max(PENDING_KEEP_MILLIS, pendingLifetime.toMillis());
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            long keep = e.ready != null ? READY_KEEP_MILLIS : pendingKeep;
            if (now - e.requestedAt > keep) {
                it.remove();
                perClient.computeIfPresent(e.requester, (k, n) -> n > 1 ? n - 1 : null);
            }
        }
    }

    private void sendRelease(ControlSession session, Release r) {
        byte[] p = new byte[ControlWire.MAX_PLAINTEXT];
        sendSealed(session, p, ControlWire.writePair(p, ControlWire.RELEASE, nextId(), r.requester, r.peer));
    }

    private void sendSealed(ControlSession session, byte[] p, int len) {
        Port pt = port;
        if (pt != null) {
            byte[] out = new byte[len + V2Wire.SEALED_OVERHEAD];
            pt.send(out, session.seal(p, len, out), relayAddress);
        }
    }

    // ---------------------------------------------------------------- the channel's thread

    private final class Port extends ControlPort {
        private final byte[] plain = new byte[V2Wire.MAX_DATAGRAM];
        private final byte[] scratch = new byte[V2Wire.MAX_DATAGRAM];

        Port(InetSocketAddress bind) throws IOException {
            super(bind, "natpunch-remote-relay", UdpRemoteRelay.this.clock);
        }

        @Override
        void onDatagram(byte[] d, int len, InetSocketAddress from, long now) {
            if (!from.equals(relayAddress)) {
                return;
            }
            if (len == Wire.RESPONSE_LENGTH && d[0] == Wire.TYPE_HANDSHAKE_RESPONSE) {
                completeHandshake(d, now);
                return;
            }
            if (Sealed.check(d, 0, len, false) != null) {
                return;
            }
            int index = Sealed.sessionIndex(d, 0);
            ControlSession current = link;
            ControlSession s = current != null && current.index == index ? current
                    : previous != null && previous.index == index ? previous : null;
            if (s == null) {
                return;
            }
            int n = s.open(d, len, plain);
            if (n < 0 || !ControlWire.check(plain, n, false)) {
                return;
            }
            if (s == current) {
                lastHeard = now;
            }
            switch (Sealed.kind(plain, 0)) {
                case ControlWire.RESULT -> file(Sealed.id(plain, 0), ControlWire.firstKey(plain),
                        ControlWire.secondKey(plain), ControlWire.result(plain));
                case ControlWire.RELEASED -> {
                    synchronized (lock) {
                        releases.remove(new UdpRelay.PairKey(ControlWire.firstKey(plain), ControlWire.secondKey(plain), seed));
                    }
                }
                case ControlWire.ENDED -> {
                    Key a = ControlWire.firstKey(plain);
                    Key b = ControlWire.secondKey(plain);
                    synchronized (lock) {
                        forget(a, b);
                        forget(b, a);
                    }
                }
                default -> { }
            }
        }

        private void completeHandshake(byte[] d, long now) {
            if (handshake == null) {
                return;
            }
            try {
                HandshakeResponse.read(handshake, d, 0, scratch);
            } catch (HandshakeException e) {
                return;
            }
            ControlSession session = new ControlSession(HandshakeResponse.assignedIndex(d, 0), relayKey,
                    handshake.split(), false, now);
            handshake = null;
            boolean wasAway = link == null;
            if (previous != null) {
                previous.destroy();
            }
            previous = link;
            link = session;
            lastHeard = now;
            lastPing = now;
            retryMillis = FIRST_RETRY_MILLIS;
            if (wasAway) {
                warnedAway = false;
                log.info("Connected to relay {}", describe());
            }
        }

        @Override
        void onTick(long now) {
            ControlSession current = link;
            if (current != null && now - lastHeard > DOWN_AFTER_MILLIS) {
                away(now);
                current = null;
            }
            if (current == null) {
                if (!warnedAway && !closed && now - startedAt > DOWN_AFTER_MILLIS) {
                    warnedAway = true;
                    log.warn("Relay {} does not answer: RELAY requests get UNAVAILABLE until it does (is"
                            + " 'natpunch relay' running there with --allow-server {}?)", describe(),
                            keys.publicKey().toBase64());
                }
                if (now - handshakeSentAt >= retryMillis) {
                    if (handshake != null) {
                        retryMillis = Math.min(MAX_RETRY_MILLIS, retryMillis * 2);
                    }
                    initiate(now);
                }
                return;
            }
            if (now - current.createdAtMillis >= REKEY_MILLIS
                    && (handshake == null || now - handshakeSentAt >= FIRST_RETRY_MILLIS)) {
                initiate(now);
            }
            if (now - lastPing >= PING_MILLIS) {
                lastPing = now;
                byte[] p = new byte[ControlWire.MAX_PLAINTEXT];
                sendSealed(current, p, ControlWire.writeEmpty(p, ControlWire.PING, nextId()));
            }
            retransmitReleases(current, now);
            if (now - lastSweep >= 1000) {
                lastSweep = now;
                synchronized (lock) {
                    sweep(now);
                }
            }
        }

        /** The relay stopped answering: forget what it said, answer UNAVAILABLE, reconnect. */
        private void away(long now) {
            link = null;
            if (previous != null) {
                previous.destroy();
                previous = null;
            }
            synchronized (lock) {
                entries.clear();
                perClient.clear();
            }
            handshake = null;
            handshakeSentAt = Long.MIN_VALUE / 2;
            retryMillis = FIRST_RETRY_MILLIS;
            startedAt = now;
            log.warn("Relay {} stopped answering; RELAY requests get UNAVAILABLE until it is back", describe());
            warnedAway = true;
        }

        private void initiate(long now) {
            handshake = NoiseHandshake.initiator(keys, relayKey, ControlWire.PROLOGUE);
            lastTimestamp = Math.max(now * 1_000_000L, lastTimestamp + 1);
            byte[] m = new byte[Wire.INITIATION_LENGTH];
            int n = HandshakeInitiation.encode(handshake, new SecureRandom().nextInt(), lastTimestamp, scratch, m, 0);
            send(m, n, relayAddress);
            handshakeSentAt = now;
        }

        private void retransmitReleases(ControlSession current, long now) {
            synchronized (lock) {
                for (Iterator<Release> it = releases.values().iterator(); it.hasNext(); ) {
                    Release r = it.next();
                    if (now - r.sentAt < RELEASE_RETRY_MILLIS) {
                        continue;
                    }
                    if (r.sends >= RELEASE_SENDS) {
                        it.remove();
                        continue;
                    }
                    r.sends++;
                    r.sentAt = now;
                    sendRelease(current, r);
                }
            }
        }
    }

    /** The relay's answer to forward {@code id}: filed unless a newer answer is already in. */
    private void file(int id, Key requester, Key peer, AllocationResult r) {
        synchronized (lock) {
            Entry e = entries.get(new Side(requester, peer, seed));
            if (e == null || id - e.answerId <= 0 && e.answer != null) {
                return;
            }
            e.answer = r;
            e.answerId = id;
            e.ready = r.endpoint().orElse(null);
        }
        if (r.status() == AllocationResult.Status.PENDING && !r.lifetime().isZero()) {
            pendingLifetime = r.lifetime();
        }
    }

    static final class BuilderImpl implements RemoteRelay.Builder {
        private InetSocketAddress control;
        private Key relayKey;
        private KeyPair keys;
        private int maxEntries = 65_536;
        private int maxPerClient = 64;
        private Clock clock = Clock.systemUTC();

        @Override
        public Builder relay(InetSocketAddress control, Key relayPublicKey) {
            this.control = Objects.requireNonNull(control, "control");
            this.relayKey = Objects.requireNonNull(relayPublicKey, "relayPublicKey");
            if (control.getPort() == 0) {
                throw new IllegalArgumentException("the relay's control port is missing (e.g. relay.example.net:"
                        + RelayControlServer.DEFAULT_PORT + ")");
            }
            return this;
        }

        @Override
        public Builder keyPair(KeyPair keys) {
            this.keys = Objects.requireNonNull(keys, "keys");
            return this;
        }

        @Override
        public Builder maxEntries(int max) {
            if (max < 2) {
                throw new IllegalArgumentException("maxEntries must be at least 2, got " + max);
            }
            this.maxEntries = max;
            return this;
        }

        @Override
        public Builder maxEntriesPerClient(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxEntriesPerClient must be at least 1, got " + max);
            }
            this.maxPerClient = max;
            return this;
        }

        @Override
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        @Override
        public RemoteRelay build() {
            if (control == null) {
                throw new IllegalArgumentException("the remote relay needs the relay's address and key (Builder.relay)");
            }
            if (keys == null) {
                throw new IllegalArgumentException("the remote relay needs this server's key pair (Builder.keyPair)");
            }
            return new UdpRemoteRelay(this);
        }
    }
}
