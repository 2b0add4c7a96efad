package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The implementation: the pair tables (changed under one lock, rarely: once per RELAY request),
 * the port pool, and the forwarding threads (lock-free on the datagram path).
 */
final class UdpRelay implements Relay {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    private static final long CLOSE_WAIT_MILLIS = 900;

    private final RelayConfig config;
    private final PortPool ports;
    private final SecureRandom random = new SecureRandom();
    /** Keys the hashes of pairs and clients, which clients choose, so that they cannot aim many at one bucket. */
    private final long seed = random.nextLong();
    private final Duration idleTimeout;
    private final Duration pendingLifetime;

    private final Object lock = new Object();
    /** Read lock-free by {@link #endpointFacing}; changed under {@link #lock}. */
    private final Map<PairKey, Allocation> allocations = new ConcurrentHashMap<>();
    private final Map<PairKey, Pending> pending = new HashMap<>();
    /** Allocations and pending requests each client takes part in; entries at 0 are removed. */
    private final Map<ClientId, Integer> perClient = new HashMap<>();

    private final List<Forwarder> forwarders = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private ScheduledThreadPoolExecutor sweeper;
    private int nextForwarder;
    /** When a full pending table was last purged on demand; guarded by {@link #lock}. */
    private long lastFullPurgeMillis = Long.MIN_VALUE / 2;
    /** Told about every allocation that ends (release, expiry), on the thread that ends it. */
    private volatile EndListener endListener;
    private volatile boolean running;
    private boolean started;
    private boolean closed;

    private final LongAdder created = new LongAdder();
    private final LongAdder expired = new LongAdder();
    private final LongAdder binds = new LongAdder();
    private final LongAdder forwarded = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final LongAdder unavailable = new LongAdder();
    private final LongAdder[] drops = new LongAdder[RelayDropReason.values().length];

    UdpRelay(RelayConfig config) {
        this.config = config;
        this.ports = new PortPool(config.firstPort, config.lastPort);
        this.idleTimeout = Duration.ofMillis(config.idleTimeoutMillis);
        this.pendingLifetime = Duration.ofMillis(config.pendingLifetimeMillis);
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void start() throws IOException {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the relay was closed; build a new one");
            }
            if (started) {
                throw new IllegalStateException("the relay is already started");
            }
            for (Map.Entry<StandardProtocolFamily, RelayConfig.Address> e : config.addresses.entrySet()) {
                checkBindable(e.getKey(), e.getValue());
            }
            started = true;
            try {
                for (int i = 0; i < config.workerThreads; i++) {
                    Forwarder f = new Forwarder(this);
                    forwarders.add(f);
                    Thread t = new Thread(f, "natpunch-relay-forwarder-" + i);
                    t.setDaemon(true);
                    threads.add(t);
                }
            } catch (IOException e) {
                forwarders.forEach(Forwarder::closeSelector);
                closed = true;
                throw e;
            }
            running = true;
            threads.forEach(Thread::start);
            ScheduledThreadPoolExecutor exec = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "natpunch-relay-sweeper");
                t.setDaemon(true);
                return t;
            });
            long interval = Math.max(250, Math.min(5000, Math.min(config.idleTimeoutMillis, config.pendingLifetimeMillis) / 4));
            exec.scheduleWithFixedDelay(this::sweepQuietly, interval, interval, TimeUnit.MILLISECONDS);
            sweeper = exec;
        }
        log.info("Relay on {} ports {}-{}, idle timeout {} s, {}", addressesText(), config.firstPort, config.lastPort,
                config.idleTimeoutMillis / 1000, config.bytesPerSecond == 0 ? "no bandwidth limit"
                        : "at most " + config.bytesPerSecond + " B/s per allocation");
    }

    private static void checkBindable(StandardProtocolFamily family, RelayConfig.Address a) throws IOException {
        try (DatagramChannel probe = DatagramChannel.open(family)) {
            probe.bind(new InetSocketAddress(a.bind, 0));
        } catch (IOException e) {
            throw new IOException("the relay cannot use address " + a.bind.getHostAddress() + ": " + e.getMessage()
                    + ". Give an address of this host (see 'ip addr'), or the wildcard with the advertised address.", e);
        }
    }

    @Override
    public void close() {
        List<Allocation> all;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            running = false;
            all = new ArrayList<>(allocations.values());
            allocations.clear();
            pending.clear();
            perClient.clear();
        }
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
        forwarders.forEach(Forwarder::stop);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        boolean interrupted = false;
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (Allocation a : all) {
            closeAllocation(a);
        }
        // Lets go of the closed channels, which frees their ports.
        forwarders.forEach(Forwarder::closeSelector);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (started) {
            log.info("Relay on {} stopped", addressesText());
        }
    }

    private String addressesText() {
        StringBuilder sb = new StringBuilder();
        for (RelayConfig.Address a : config.addresses.values()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(a.advertised.getHostAddress());
            if (!a.bind.equals(a.advertised)) {
                sb.append(" (bound to ").append(a.bind.getHostAddress()).append(')');
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- control plane

    /** Who hears about ended allocations: a control channel that tells remote servers. */
    interface EndListener {
        /** The pair's allocation ended; must not block (it runs on the relay's own threads). */
        void ended(Key first, Key second);
    }

    void endListener(EndListener listener) {
        this.endListener = listener;
    }

    @Override
    public AllocationResult allocate(Key requester, Key peer, StandardProtocolFamily family) {
        Objects.requireNonNull(requester, "requester");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(family, "family");
        if (requester.equals(peer)) {
            return unavailable();
        }
        PairKey pk = new PairKey(requester, peer, seed);
        synchronized (lock) {
            if (!running) {
                return unavailable();
            }
            long now = config.clock.millis();
            Allocation a = allocations.get(pk);
            if (a != null) {
                a.touch(now);
                Allocation.Side side = a.side(requester);
                return AllocationResult.ready(idleTimeout, side.endpoint, side.currentToken());
            }
            RelayConfig.Address address = config.addresses.get(family);
            if (address == null) {
                return unavailable();
            }
            Pending p = pending.get(pk);
            if (p != null && p.isExpired(now)) {
                removePending(pk, p);
                p = null;
            }
            if (p != null && p.requester.equals(requester)) {
                p.family = family;
                p.expiresAtMillis = now + config.pendingLifetimeMillis;
                return AllocationResult.pending(pendingLifetime);
            }
            ClientId id = new ClientId(requester, seed);
            if (perClient.getOrDefault(id, 0) >= config.maxPerClient) {
                return unavailable();
            }
            if (p == null) {
                if (pending.size() >= config.maxPending) {
                    // At most once a second, so that a full table does not make every request scan it.
                    if (now - lastFullPurgeMillis >= 1000) {
                        lastFullPurgeMillis = now;
                        sweepPending(now);
                    }
                    if (pending.size() >= config.maxPending) {
                        return unavailable();
                    }
                }
                pending.put(pk, new Pending(requester, id, family, now + config.pendingLifetimeMillis));
                perClient.merge(id, 1, Integer::sum);
                return AllocationResult.pending(pendingLifetime);
            }
            if (allocations.size() >= config.maxAllocations) {
                return unavailable();
            }
            Allocation made = open(pk, p, requester, family, now);
            if (made == null) {
                return unavailable();
            }
            pending.remove(pk);
            allocations.put(pk, made);
            perClient.merge(id, 1, Integer::sum);
            created.increment();
            made.forwarder.add(made);
            if (log.isDebugEnabled()) {
                log.debug("Relay allocation {} <-> {}: ports {} and {}", made.first.owner.toBase64(),
                        made.second.owner.toBase64(), made.first.port, made.second.port);
            }
            Allocation.Side side = made.side(requester);
            return AllocationResult.ready(idleTimeout, side.endpoint, side.currentToken());
        }
    }

    /** Opens the pair's two ports, or returns null (nothing held) when the range is used up. */
    private Allocation open(PairKey pk, Pending first, Key second, StandardProtocolFamily secondFamily, long now) {
        RelayConfig.Address a1 = config.addresses.get(first.family);
        RelayConfig.Address a2 = config.addresses.get(secondFamily);
        DatagramChannel c1 = null;
        DatagramChannel c2 = null;
        try {
            c1 = ports.open(a1.bind, first.family);
            c2 = c1 == null ? null : ports.open(a2.bind, secondFamily);
            if (c2 == null) {
                if (c1 != null) {
                    release(c1);
                }
                log.debug("Relay port range {}-{} is used up", config.firstPort, config.lastPort);
                return null;
            }
            Forwarder f = forwarders.get(nextForwarder++ % forwarders.size());
            TokenBucket bucket = config.bytesPerSecond == 0 ? null
                    : new TokenBucket(config.bytesPerSecond, config.burstBytes, now);
            return new Allocation(pk, first.requester, c1, endpoint(a1, c1), second, c2, endpoint(a2, c2),
                    bucket, f, random, now);
        } catch (IOException e) {
            log.warn("Cannot open a relay port: {}", e.getMessage());
            if (c1 != null) {
                release(c1);
            }
            if (c2 != null) {
                release(c2);
            }
            return null;
        }
    }

    private static InetSocketAddress endpoint(RelayConfig.Address a, DatagramChannel ch) throws IOException {
        return new InetSocketAddress(a.advertised, ((InetSocketAddress) ch.getLocalAddress()).getPort());
    }

    private void release(DatagramChannel ch) {
        try {
            int port = ((InetSocketAddress) ch.getLocalAddress()).getPort();
            ch.close();
            ports.release(port);
        } catch (IOException e) {
            log.debug("closing a relay port failed", e);
        }
    }

    @Override
    public void release(Key requester, Key peer) {
        PairKey pk = new PairKey(requester, peer, seed);
        Allocation a;
        synchronized (lock) {
            a = allocations.remove(pk);
            if (a != null) {
                decrement(new ClientId(a.first.owner, seed));
                decrement(new ClientId(a.second.owner, seed));
            }
            Pending p = pending.get(pk);
            if (p != null && p.requester.equals(requester)) {
                removePending(pk, p);
            }
        }
        if (a != null) {
            closeAllocation(a);
            log.debug("Relay allocation on ports {} and {} released", a.first.port, a.second.port);
            tellEnded(a);
        }
    }

    @Override
    public Optional<InetSocketAddress> endpointFacing(Key client, Key peer) {
        Allocation a = allocations.get(new PairKey(client, peer, seed));
        return a == null ? Optional.empty() : Optional.of(a.side(client).endpoint);
    }

    @Override
    public Duration pendingLifetime() {
        return pendingLifetime;
    }

    private AllocationResult unavailable() {
        unavailable.increment();
        return AllocationResult.unavailable();
    }

    private void removePending(PairKey pk, Pending p) {
        pending.remove(pk);
        decrement(p.id);
    }

    private void decrement(ClientId id) {
        perClient.computeIfPresent(id, (k, n) -> n > 1 ? n - 1 : null);
    }

    private void tellEnded(Allocation a) {
        EndListener l = endListener;
        if (l != null) {
            l.ended(a.first.owner, a.second.owner);
        }
    }

    private void closeAllocation(Allocation a) {
        if (a.end()) {
            a.forwarder.closePorts(a);
            ports.release(a.first.port);
            ports.release(a.second.port);
        }
    }

    // ---------------------------------------------------------------- expiry

    private void sweepQuietly() {
        try {
            sweep();
        } catch (RuntimeException e) {
            log.warn("Relay expiry sweep failed; will retry", e);
        }
    }

    /** Ends idle allocations and forgets expired pending requests. */
    void sweep() {
        List<Allocation> idle = new ArrayList<>();
        synchronized (lock) {
            long now = config.clock.millis();
            for (Iterator<Allocation> it = allocations.values().iterator(); it.hasNext(); ) {
                Allocation a = it.next();
                if (now - a.lastActivityMillis >= config.idleTimeoutMillis) {
                    it.remove();
                    decrement(new ClientId(a.first.owner, seed));
                    decrement(new ClientId(a.second.owner, seed));
                    idle.add(a);
                }
            }
            sweepPending(now);
        }
        for (Allocation a : idle) {
            closeAllocation(a);
            expired.increment();
            tellEnded(a);
        }
        if (!idle.isEmpty()) {
            log.debug("Expired {} idle relay allocations", idle.size());
        }
    }

    private void sweepPending(long now) {
        for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.isExpired(now)) {
                it.remove();
                decrement(p.id);
            }
        }
    }

    // ---------------------------------------------------------------- data plane

    /**
     * One datagram that reached {@code side}'s port from {@code from}: forwarded, taken as a bind,
     * or dropped. Runs on the side's forwarding thread only.
     */
    void onDatagram(Allocation.Side side, ByteBuffer d, InetSocketAddress from, byte[] scratch) {
        int len = d.remaining();
        if (len > 0 && d.get(d.position()) == V2Wire.TYPE_RELAY_BIND) {
            onBind(side, d, from, scratch);
            return;
        }
        InetSocketAddress learned = side.learned;
        if (learned == null || !learned.equals(from)) {
            drop(RelayDropReason.UNKNOWN_SOURCE);
            return;
        }
        Allocation.Side other = side.other();
        InetSocketAddress to = other.learned;
        if (to == null) {
            drop(RelayDropReason.PEER_NOT_BOUND);
            return;
        }
        Allocation a = side.allocation;
        long now = config.clock.millis();
        if (a.bucket != null && !a.bucket.tryTake(len, now)) {
            drop(RelayDropReason.BANDWIDTH_EXCEEDED);
            return;
        }
        // Before the send: whoever sees the datagram arrive must also see the allocation as active.
        a.touch(now);
        int sent;
        try {
            sent = other.channel.send(d, to);
        } catch (ClosedChannelException e) {
            return;
        } catch (IOException e) {
            drop(RelayDropReason.SEND_FAILED);
            return;
        }
        if (sent < len) {
            drop(RelayDropReason.SEND_FAILED);
            return;
        }
        forwarded.increment();
        bytes.add(len);
    }

    private void onBind(Allocation.Side side, ByteBuffer d, InetSocketAddress from, byte[] scratch) {
        if (d.remaining() != V2Wire.RELAY_BIND_LENGTH) {
            drop(RelayDropReason.BIND_REJECTED);
            return;
        }
        d.get(scratch, 0, V2Wire.RELAY_BIND_LENGTH);
        if (RelayControl.checkBind(scratch, 0, V2Wire.RELAY_BIND_LENGTH) != null) {
            drop(RelayDropReason.BIND_REJECTED);
            return;
        }
        if (side.bind(scratch, RelayControl.bindTokenOffset(0), from)) {
            side.allocation.touch(config.clock.millis());
            binds.increment();
            if (log.isDebugEnabled()) {
                log.debug("Relay port {} bound to {} for {}", side.port, from, side.owner.toBase64());
            }
        } else if (!from.equals(side.learned)) {
            // A repeated bind from the bound address is the client making sure; anything else is a stranger.
            drop(RelayDropReason.BIND_REJECTED);
        }
    }

    void internalError(Allocation.Side side, RuntimeException e) {
        drop(RelayDropReason.INTERNAL_ERROR);
        log.warn("Unexpected error on relay port {}; the relay keeps forwarding", side.port, e);
    }

    private void drop(RelayDropReason reason) {
        drops[reason.ordinal()].increment();
    }

    @Override
    public RelayMetrics metrics() {
        EnumMap<RelayDropReason, Long> byReason = new EnumMap<>(RelayDropReason.class);
        for (RelayDropReason r : RelayDropReason.values()) {
            byReason.put(r, drops[r.ordinal()].sum());
        }
        int waiting;
        synchronized (lock) {
            waiting = pending.size();
        }
        return new RelayMetrics(allocations.size(), waiting, created.sum(), expired.sum(), binds.sum(),
                forwarded.sum(), bytes.sum(), unavailable.sum(), byReason);
    }

    Clock clock() {
        return config.clock;
    }

    /** Ports open now, for tests. */
    int portsInUse() {
        return ports.inUse();
    }

    // ---------------------------------------------------------------- keys

    /** A one-sided request: {@code requester} asked for the pair, the other side has not yet. */
    private static final class Pending {
        final Key requester;
        final ClientId id;
        StandardProtocolFamily family;
        long expiresAtMillis;

        Pending(Key requester, ClientId id, StandardProtocolFamily family, long expiresAtMillis) {
            this.requester = requester;
            this.id = id;
            this.family = family;
            this.expiresAtMillis = expiresAtMillis;
        }

        boolean isExpired(long now) {
            return now >= expiresAtMillis;
        }
    }

    /** A client key with a seeded hash. */
    static final class ClientId {
        final Key key;
        private final int hash;

        ClientId(Key key, long seed) {
            this.key = key;
            this.hash = (int) mix(seed, key);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ClientId && ((ClientId) o).key.equals(key);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** The unordered pair {a, b}, with a seeded hash. */
    static final class PairKey {
        private final Key a;
        private final Key b;
        private final int hash;

        PairKey(Key x, Key y, long seed) {
            this.a = x;
            this.b = y;
            // Symmetric in x and y, so that {x, y} and {y, x} hash alike.
            this.hash = (int) (mix(seed, x) + mix(seed, y));
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof PairKey)) {
                return false;
            }
            PairKey p = (PairKey) o;
            return a.equals(p.a) && b.equals(p.b) || a.equals(p.b) && b.equals(p.a);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    static long mix(long seed, Key key) {
        byte[] k = key.toBytes();
        long h = seed;
        for (int i = 0; i < Key.LENGTH; i += 8) {
            long v = 0;
            for (int j = 0; j < 8; j++) {
                v = v << 8 | (k[i + j] & 0xff);
            }
            h = (h ^ v) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 32;
        }
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ h >>> 31;
    }
}
