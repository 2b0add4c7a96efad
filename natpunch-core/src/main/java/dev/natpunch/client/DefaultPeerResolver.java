package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.net.TransportFactory;
import dev.natpunch.wireguard.Device;
import dev.natpunch.wireguard.Peer;
import dev.natpunch.wireguard.PeerUpdate;
import dev.natpunch.wireguard.WireguardControl;
import dev.natpunch.wireguard.WireguardException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link PeerResolver} over one rendezvous server and a {@link WireguardControl}. */
final class DefaultPeerResolver implements PeerResolver {
    private static final Logger LOG = LoggerFactory.getLogger(PeerResolver.class);

    /**
     * WireGuard's REJECT_AFTER_TIME: a handshake younger than this means the tunnel works, and
     * WireGuard's own roaming knows the peer's endpoint better than the server does.
     */
    static final Duration FRESH_HANDSHAKE = Duration.ofSeconds(180);

    private static final Duration MAX_BACKOFF = Duration.ofSeconds(60);
    private static final Duration VERIFY_POLL = Duration.ofMillis(200);

    private final String interfaceName;
    private final String serverHost;
    private final int serverPort;
    private final Key serverKey;
    private final WireguardControl wireguard;
    private final TransportFactory transports;
    private final Duration retryDelay;
    private final int keepalive;
    private final Duration timeout;
    private final Duration responseTimeout;
    private final Duration verifyWait;
    private final ResolveListener listener;
    /** A listener shows retries to the user; without one they go to the log as warnings. */
    private final boolean listenerSet;
    private final Clock clock;

    private final Map<Key, RxSeen> rxSeen = new java.util.HashMap<>();
    private final Object lock = new Object();
    private volatile boolean closed;
    private RendezvousClient client;
    /** The session's key pair: the interface's private key, destroyed with the session. */
    private KeyPair sessionKeys;
    private DatagramTransport transport;
    private int transportPort = -1;
    /** The latest snapshot: its private key is destroyed once the next one replaces it. */
    private Device lastRead;

    private DefaultPeerResolver(BuilderImpl b) {
        this.interfaceName = b.interfaceName;
        this.serverHost = b.serverHost;
        this.serverPort = b.serverPort;
        this.serverKey = b.serverKey;
        this.wireguard = b.wireguard != null ? b.wireguard : WireguardControl.automatic();
        this.transports = b.transports != null ? b.transports : TransportFactory.raw();
        this.retryDelay = b.retryDelay;
        this.keepalive = b.keepalive;
        this.timeout = b.timeout;
        this.responseTimeout = b.responseTimeout;
        this.verifyWait = b.verifyWait;
        this.listener = b.listener;
        this.listenerSet = b.listenerSet;
        this.clock = b.clock;
    }

    @Override
    public ResolveReport resolveAll() throws IOException, InterruptedException {
        Instant deadline = clock.instant().plus(timeout);
        Device device;
        Map<Key, PeerResult> results = new LinkedHashMap<>();
        Map<Key, Instant> changedAt = new LinkedHashMap<>();
        SocketTimeoutException unanswered = null;
        while (true) {
            checkOpen();
            device = readDevice();
            try {
                pass(device, results, changedAt, false);
                unanswered = null;
            } catch (SocketTimeoutException e) {
                // One lost datagram to or from the server must cost a retry, not the run (as in
                // natpunch-go); the session is gone, so the next pass registers again.
                unanswered = e;
                if (results.isEmpty() && !clock.instant().isBefore(deadline)) {
                    throw e;
                }
                listener.onRetry("the rendezvous server", e);
            }
            boolean missing = unanswered != null
                    || results.values().stream().anyMatch(r -> !r.hasEndpoint());
            if (!missing || !clock.instant().isBefore(deadline)) {
                break;
            }
            pause(retryDelay);
        }
        if (unanswered != null) {
            for (Peer p : device.peers()) {
                if (!results.containsKey(p.publicKey())) {
                    PeerResult r = PeerResult.failed(p.publicKey(), PeerStatus.ERROR, null,
                            "the rendezvous server did not answer");
                    results.put(p.publicKey(), r);
                    report(r);
                }
            }
        }
        if (!verifyWait.isZero() && !changedAt.isEmpty()) {
            verify(results, changedAt);
        }
        List<PeerResult> ordered = new ArrayList<>();
        for (Peer p : device.peers()) {
            PeerResult r = results.get(p.publicKey());
            if (r != null) {
                ordered.add(r);
            }
        }
        return new ResolveReport(interfaceName, ordered);
    }

    @Override
    public void runContinuously() throws IOException, InterruptedException {
        Map<Key, PeerResult> results = new LinkedHashMap<>();
        Map<Key, Instant> pending = new LinkedHashMap<>();
        Duration backoff = retryDelay;
        boolean seenInterface = false;
        while (true) {
            try {
                checkOpen();
                Device device = readDevice();
                seenInterface = true;
                List<Key> current = device.peers().stream().map(Peer::publicKey).toList();
                results.keySet().retainAll(current);
                pending.keySet().retainAll(current);
                rxSeen.keySet().retainAll(current);
                confirm(device, results, pending);
                pass(device, results, pending, true);
                backoff = retryDelay;
                pause(retryDelay);
            } catch (ClosedResolverException e) {
                return;
            } catch (WireguardException e) {
                if (!isTransient(e, seenInterface)) {
                    throw e;
                }
                backoff = retryLater("reading " + interfaceName, e, backoff);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                backoff = retryLater("the rendezvous server", e, backoff);
            }
        }
    }

    /**
     * Continuous mode's verification, one look per pass: a handshake since the change makes the
     * peer {@link PeerStatus#CONNECTED}; none within the verification time makes it {@link
     * PeerStatus#NO_HANDSHAKE}. Without verification the endpoint stays {@link PeerStatus#RESOLVED}.
     */
    private void confirm(Device device, Map<Key, PeerResult> results, Map<Key, Instant> pending) {
        Instant now = clock.instant();
        for (Peer peer : device.peers()) {
            Instant since = pending.get(peer.publicKey());
            if (since == null) {
                continue;
            }
            PeerResult r = connectedSince(peer, since);
            if (r == null && !verifyWait.isZero() && !now.isBefore(since.plus(verifyWait))) {
                r = noHandshake(peer.publicKey(), peer.endpoint().orElse(null));
            } else if (r == null && verifyWait.isZero()) {
                pending.remove(peer.publicKey());
            }
            if (r != null) {
                pending.remove(peer.publicKey());
                results.put(peer.publicKey(), r);
                report(r);
            }
        }
    }

    /**
     * A WireGuard failure worth waiting out: the daemon restarting (the interface comes back) or
     * answering late. Missing privileges, a missing WireGuard or a name that never existed are not.
     */
    private static boolean isTransient(WireguardException e, boolean seenInterface) {
        switch (e.kind()) {
            case PROTOCOL:
                return true;
            case NO_SUCH_INTERFACE:
                return seenInterface;
            default:
                return false;
        }
    }

    /**
     * One pass: looks up every peer that needs it and applies what the server says. In continuous
     * mode every peer is looked up again, so that a peer whose mapping changed is followed.
     */
    private void pass(
            Device device, Map<Key, PeerResult> results, Map<Key, Instant> changedAt, boolean refresh)
            throws IOException, InterruptedException {
        // A handshake after this instant counts as proof for any endpoint set in this pass: one
        // that lands between reading the device and writing the endpoint came over the path the
        // peer is using, which is the one the server reports.
        Instant readAt = clock.instant();
        RendezvousClient rendezvous = session(device);
        for (Peer peer : device.peers()) {
            checkOpen();
            PeerResult previous = results.get(peer.publicKey());
            if (!refresh && previous != null && previous.hasEndpoint()) {
                continue;
            }
            Optional<InetSocketAddress> found = rendezvous.lookup(peer.publicKey());
            PeerResult result;
            if (found.isEmpty()) {
                result = PeerResult.of(peer.publicKey(), PeerStatus.NOT_FOUND, null);
            } else {
                boolean unchanged = alreadySet(peer, found.get());
                result = apply(peer, found.get());
                // A refresh that changed nothing has nothing new to verify; a one-shot run
                // verifies even an endpoint set earlier, since it reports on the tunnel.
                if (result.status() == PeerStatus.RESOLVED && !(refresh && unchanged)) {
                    changedAt.put(peer.publicKey(), readAt);
                }
            }
            if (refresh && previous != null && sameOutcome(previous, result)) {
                continue;
            }
            results.put(peer.publicKey(), result);
            if (previous == null || !previous.equals(result)) {
                report(result);
            }
        }
    }

    /**
     * Whether a refresh found what the last pass concluded: a verified or already working peer
     * that WireGuard still reports as working, or an unverified endpoint the server still gives.
     */
    private static boolean sameOutcome(PeerResult previous, PeerResult now) {
        boolean sameEndpoint = previous.endpoint().equals(now.endpoint());
        boolean wasWorking = previous.status() == PeerStatus.CONNECTED
                || previous.status() == PeerStatus.ALREADY_CONNECTED;
        boolean stillWorking = wasWorking && now.status() == PeerStatus.ALREADY_CONNECTED;
        boolean stillUnverified = previous.status() == PeerStatus.NO_HANDSHAKE
                && now.status() == PeerStatus.RESOLVED;
        return sameEndpoint && (stillWorking || stillUnverified);
    }

    /**
     * Points the peer at {@code endpoint} unless WireGuard already has a working path: a recent
     * handshake means authenticated packets arrived, and WireGuard's roaming then keeps the
     * endpoint they came from, which it knows better than the server.
     */
    private PeerResult apply(Peer peer, InetSocketAddress endpoint) {
        Key key = peer.publicKey();
        Optional<InetSocketAddress> current = peer.endpoint();
        boolean fresh = hasFreshHandshake(peer);
        try {
            if (fresh && current.isPresent()) {
                if (peer.persistentKeepaliveSeconds() == 0) {
                    wireguard.updatePeer(interfaceName,
                            PeerUpdate.builder(key).persistentKeepaliveSeconds(keepalive).build());
                }
                return PeerResult.of(key, PeerStatus.ALREADY_CONNECTED, current.get());
            }
            if (alreadySet(peer, endpoint)) {
                return PeerResult.of(key, PeerStatus.RESOLVED, endpoint);
            }
            if (peer.persistentKeepaliveSeconds() != 0) {
                // WireGuard sends a keepalive (and so starts a handshake) only when the keepalive
                // goes from off to on; switching it off first makes the new endpoint count now
                // instead of at the next keepalive tick.
                wireguard.updatePeer(interfaceName, PeerUpdate.builder(key).endpoint(endpoint)
                        .persistentKeepaliveSeconds(0).build());
            } else {
                wireguard.updatePeer(interfaceName, PeerUpdate.builder(key).endpoint(endpoint).build());
            }
            wireguard.updatePeer(interfaceName,
                    PeerUpdate.builder(key).persistentKeepaliveSeconds(keepalive).build());
            return PeerResult.of(key, PeerStatus.RESOLVED, endpoint);
        } catch (IOException e) {
            return PeerResult.failed(key, PeerStatus.ERROR, null,
                    "could not set the endpoint: " + e.getMessage());
        }
    }

    /**
     * Whether the tunnel to {@code peer} is alive: a handshake within REJECT_AFTER_TIME, and, once
     * this resolver has watched the peer for a while, received bytes growing (the peer's
     * keepalives), which a peer that moved stops delivering long before its handshake goes stale.
     */
    private boolean alreadySet(Peer peer, InetSocketAddress endpoint) {
        return peer.endpoint().filter(endpoint::equals).isPresent()
                && peer.persistentKeepaliveSeconds() == keepalive;
    }

    private boolean hasFreshHandshake(Peer peer) {
        Instant now = clock.instant();
        boolean handshake = peer.latestHandshake()
                .map(t -> Duration.between(t, now).compareTo(FRESH_HANDSHAKE) < 0)
                .orElse(false);
        RxSeen seen = rxSeen.get(peer.publicKey());
        if (seen == null || seen.rx != peer.rxBytes()) {
            rxSeen.put(peer.publicKey(), new RxSeen(peer.rxBytes(), now, seen == null ? now : seen.watchedSince));
            return handshake;
        }
        Duration silent = Duration.between(seen.changedAt, now);
        Duration watched = Duration.between(seen.watchedSince, now);
        Duration limit = Duration.ofSeconds(2L * keepalive + 5);
        return handshake && (watched.compareTo(limit) < 0 || silent.compareTo(limit) < 0);
    }

    /** The received-bytes counter of a peer, when it last changed, and since when it is watched. */
    private record RxSeen(long rx, Instant changedAt, Instant watchedSince) {
    }

    /** Waits for handshakes newer than each change; peers without one end in NO_HANDSHAKE. */
    private void verify(Map<Key, PeerResult> results, Map<Key, Instant> changedAt)
            throws IOException, InterruptedException {
        Instant deadline = clock.instant().plus(verifyWait);
        Map<Key, Instant> pending = new LinkedHashMap<>(changedAt);
        while (!pending.isEmpty()) {
            checkOpen();
            Device device = readDevice();
            for (Peer peer : device.peers()) {
                Instant since = pending.get(peer.publicKey());
                PeerResult r = since == null ? null : connectedSince(peer, since);
                if (r != null) {
                    pending.remove(peer.publicKey());
                    results.put(peer.publicKey(), r);
                    report(r);
                }
            }
            if (!clock.instant().isBefore(deadline)) {
                break;
            }
            pause(VERIFY_POLL);
        }
        for (Key key : pending.keySet()) {
            PeerResult r = noHandshake(key, results.get(key).endpoint().orElse(null));
            results.put(key, r);
            report(r);
        }
    }

    /** {@link PeerStatus#CONNECTED} if WireGuard saw a handshake at or after {@code since}, else null. */
    private static PeerResult connectedSince(Peer peer, Instant since) {
        return peer.latestHandshake().filter(t -> !t.isBefore(since)).isPresent()
                ? PeerResult.of(peer.publicKey(), PeerStatus.CONNECTED, peer.endpoint().orElse(null))
                : null;
    }

    private PeerResult noHandshake(Key key, InetSocketAddress endpoint) {
        return PeerResult.failed(key, PeerStatus.NO_HANDSHAKE, endpoint,
                "no WireGuard handshake within " + verifyWait.toSeconds() + " s of setting the"
                        + " endpoint: a direct path is unlikely (a NAT that maps per destination,"
                        + " i.e. a symmetric NAT, on either side?) or the peer has not looked us up yet");
    }

    private Device readDevice() throws IOException {
        Device device = wireguard.device(interfaceName);
        forget(lastRead, device);
        lastRead = device;
        if (device.privateKey().isEmpty()) {
            throw new IOException("cannot read the private key of " + interfaceName
                    + ": natpunch registers with the interface's own key, so it needs root"
                    + " (or CAP_NET_ADMIN) and an interface with a private key set");
        }
        if (device.peers().isEmpty()) {
            throw new IOException(interfaceName + " has no peers: add them first, e.g."
                    + " wg set " + interfaceName + " peer <PUBLIC_KEY> allowed-ips <IP>/32");
        }
        return device;
    }

    /** The session for this device, reopened when the listen port changed. */
    private RendezvousClient session(Device device) throws IOException {
        synchronized (lock) {
            checkOpenUnchecked();
            if (client != null && transportPort == device.listenPort()) {
                return client;
            }
            closeSession();
            InetSocketAddress server = resolveServer();
            transport = transports.open(server, device.listenPort());
            transportPort = device.listenPort();
            sessionKeys = KeyPair.fromPrivateKey(device.privateKey().orElseThrow());
            client = RendezvousClient.builder(sessionKeys, serverKey, transport)
                    .responseTimeout(responseTimeout)
                    .clock(clock)
                    .build();
            client.handshake();
            LOG.debug("registered with {} from port {}", server, device.listenPort());
            listener.onServerHandshake(server);
            return client;
        }
    }

    private InetSocketAddress resolveServer() throws IOException {
        try {
            InetAddress address = InetAddress.getByName(serverHost);
            return new InetSocketAddress(address, serverPort);
        } catch (UnknownHostException e) {
            throw new IOException("cannot resolve the server name '" + serverHost
                    + "': check the spelling and this machine's DNS", e);
        }
    }

    private Duration retryLater(String what, IOException e, Duration backoff)
            throws IOException, InterruptedException {
        if (listenerSet) {
            LOG.debug("{} failed, retrying in {} s: {}", what, backoff.toSeconds(), e.getMessage());
        } else {
            LOG.warn("{} failed, retrying in {} s: {}", what, backoff.toSeconds(), e.getMessage());
        }
        listener.onRetry(what, e);
        synchronized (lock) {
            closeSession();
        }
        long jitter = ThreadLocalRandom.current().nextLong(backoff.toMillis() / 4 + 1);
        pause(backoff.plusMillis(jitter));
        Duration next = backoff.multipliedBy(2);
        return next.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : next;
    }

    private void report(PeerResult result) {
        LOG.debug("{} {} {}", result.peer().toBase64(), result.status(), result.endpoint());
        listener.onPeer(result);
    }

    /** Sleeps, waking at once when the resolver is closed. */
    private void pause(Duration d) throws IOException, InterruptedException {
        synchronized (lock) {
            long end = System.nanoTime() + d.toNanos();
            long left;
            while (!closed && (left = end - System.nanoTime()) > 0) {
                lock.wait(Math.max(1, left / 1_000_000));
            }
        }
        checkOpen();
    }

    private void checkOpen() throws IOException, InterruptedException {
        checkOpenUnchecked();
        if (Thread.interrupted()) {
            throw new InterruptedException("peer resolution interrupted");
        }
    }

    private void checkOpenUnchecked() throws ClosedResolverException {
        if (closed) {
            throw new ClosedResolverException();
        }
    }

    private void closeSession() {
        if (client != null) {
            try {
                client.close();
            } catch (IOException e) {
                LOG.debug("closing the session failed", e);
            }
            client = null;
        }
        if (transport != null) {
            try {
                transport.close();
            } catch (IOException e) {
                LOG.debug("closing the transport failed", e);
            }
            transport = null;
        }
        transportPort = -1;
        if (sessionKeys != null) {
            sessionKeys.destroy();
            sessionKeys = null;
        }
    }

    /**
     * Zeroes the private key a device snapshot carries (every read of WireGuard returns one)
     * unless the session or the {@code next} snapshot uses it (a {@link WireguardControl} may
     * hand out the same key twice), so that the key does not pile up in the heap, one per poll.
     */
    private void forget(Device device, Device next) {
        if (device == null) {
            return;
        }
        Key nextKey = next == null ? null : next.privateKey().orElse(null);
        synchronized (lock) {
            device.privateKey()
                    .filter(k -> k != nextKey && (sessionKeys == null || k != sessionKeys.privateKey()))
                    .ifPresent(Key::destroy);
        }
    }

    @Override
    public void close() {
        closed = true;
        DatagramTransport t;
        synchronized (lock) {
            lock.notifyAll();
            t = transport;
        }
        if (t != null) {
            try {
                t.close();
            } catch (IOException e) {
                LOG.debug("closing the transport failed", e);
            }
        }
        synchronized (lock) {
            closeSession();
        }
        forget(lastRead, null);
    }

    /** Thrown by {@link #resolveAll()} when {@link #close()} ended it. */
    static final class ClosedResolverException extends IOException {
        private static final long serialVersionUID = 1L;

        ClosedResolverException() {
            super("the resolver was closed");
        }
    }

    static final class BuilderImpl implements Builder {
        private String interfaceName;
        private String serverHost;
        private int serverPort;
        private Key serverKey;
        private WireguardControl wireguard;
        private TransportFactory transports;
        private Duration retryDelay = Duration.ofSeconds(2);
        private int keepalive = 25;
        private Duration timeout = Duration.ofSeconds(60);
        private Duration responseTimeout = Duration.ofSeconds(10);
        private Duration verifyWait = Duration.ZERO;
        private ResolveListener listener = new ResolveListener() { };
        private boolean listenerSet;
        private Clock clock = Clock.systemUTC();

        @Override
        public Builder interfaceName(String name) {
            this.interfaceName = Objects.requireNonNull(name, "name");
            return this;
        }

        @Override
        public Builder server(String host, int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("server port must be 1 to 65535, not " + port);
            }
            this.serverHost = Objects.requireNonNull(host, "host");
            this.serverPort = port;
            return this;
        }

        @Override
        public Builder serverKey(Key key) {
            this.serverKey = Objects.requireNonNull(key, "key");
            return this;
        }

        @Override
        public Builder wireguard(WireguardControl control) {
            this.wireguard = Objects.requireNonNull(control, "control");
            return this;
        }

        @Override
        public Builder transport(TransportFactory factory) {
            this.transports = Objects.requireNonNull(factory, "factory");
            return this;
        }

        @Override
        public Builder retryDelay(Duration delay) {
            this.retryDelay = positive(delay, "retry delay");
            return this;
        }

        @Override
        public Builder persistentKeepalive(int seconds) {
            if (seconds < 1 || seconds > 65535) {
                throw new IllegalArgumentException(
                        "persistent keepalive must be 1 to 65535 seconds, not " + seconds);
            }
            this.keepalive = seconds;
            return this;
        }

        @Override
        public Builder timeout(Duration timeout) {
            this.timeout = positive(timeout, "timeout");
            return this;
        }

        @Override
        public Builder responseTimeout(Duration timeout) {
            this.responseTimeout = positive(timeout, "response timeout");
            return this;
        }

        @Override
        public Builder verifyHandshake(Duration wait) {
            if (wait.isNegative()) {
                throw new IllegalArgumentException("verification time must not be negative");
            }
            this.verifyWait = wait;
            return this;
        }

        @Override
        public Builder listener(ResolveListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            this.listenerSet = true;
            return this;
        }

        @Override
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        @Override
        public PeerResolver build() {
            if (interfaceName == null || serverHost == null || serverKey == null) {
                throw new IllegalStateException(
                        "interfaceName, server and serverKey are required");
            }
            return new DefaultPeerResolver(this);
        }

        private static Duration positive(Duration d, String what) {
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(what + " must be positive");
            }
            return d;
        }
    }
}
