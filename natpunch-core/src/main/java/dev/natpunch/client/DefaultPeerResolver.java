package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.Endpoints;
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
import java.net.StandardProtocolFamily;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
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
    /**
     * Pause between passes in continuous mode when every server pushes changes. A pass also
     * re-registers: after a NAT rebinding or a move, it is what shows the servers (and, by push,
     * the peers) our new mapping.
     */
    static final Duration PUSHED_POLL = Duration.ofSeconds(10);
    /**
     * How often continuous mode re-reads the interface while it waits, so that peers added to it
     * (WireGuard announces nothing) are looked up within this time: one UAPI or netlink read.
     */
    static final Duration PEER_POLL = Duration.ofMillis(500);
    /**
     * After a key that is not a peer looked us up, the interface is re-read this often for
     * {@link #LOOKED_UP_WATCH}: whoever adds peers on both sides rarely does it in the same
     * instant, and that key is likely to become a peer within moments.
     */
    static final Duration LOOKED_UP_POLL = Duration.ofMillis(50);
    static final Duration LOOKED_UP_WATCH = Duration.ofSeconds(2);
    /** How often a relayed peer is offered a direct path again, in continuous mode. */
    static final Duration DIRECT_RETRY = Duration.ofSeconds(30);
    /** How long a direct probe points WireGuard away from the relay: long enough to send one keepalive. */
    private static final Duration DIRECT_PROBE = Duration.ofMillis(300);
    /** How long after leaving a relay a roam back to its port is undone (two direct-probe slots). */
    private static final Duration HOLD_DIRECT = DIRECT_RETRY.multipliedBy(2);

    private final String interfaceName;
    private final List<ServerLinks.ServerSpec> servers;
    private final int protocolVersion;
    private final boolean advertiseLocal;
    private final boolean relayEnabled;
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
    private ServerLinks links;
    private int linksPort = -1;
    /** Whether {@link #links} hear of lookups (INTEREST); guarded by lock. */
    private boolean linksHear;
    /** Set once {@link #runContinuously} starts. */
    private volatile boolean continuous;
    /** Peers a server pushed a change for since the last pass, with what it pushed. Guarded by lock. */
    private final Map<Key, List<PeerEndpoint>> pushed = new LinkedHashMap<>();
    /**
     * What the last lookup found for each peer: a push of the same is no news (the servers push
     * a new peer's lookups of us, which often crossed our own). Resolver thread only.
     */
    private final Map<Key, List<PeerEndpoint>> lastFound = new java.util.HashMap<>();
    /** Peers none of whose direct endpoints worked: the relay is asked for them every pass. */
    private final Set<Key> wantRelay = new java.util.LinkedHashSet<>();
    /** Peers going through a relay. */
    private final Map<Key, RelayUse> relayed = new java.util.HashMap<>();
    /** Peers that left a relay lately, with the released relay port and the direct endpoint. */
    private final Map<Key, LeftRelay> leftRelays = new java.util.HashMap<>();
    private long lastDirectSlot = -1;

    /** A relay pair in use for a peer, with the peer's receive counter and when it last grew. */
    private record RelayUse(RendezvousClient.RelayGrant grant, long rxBytes, Instant rxGrewAt) {
        boolean isRelay(Peer peer) {
            return peer.endpoint().filter(grant.endpoint()::equals).isPresent();
        }
    }

    /** A relay port given up for a direct endpoint, and when. */
    private record LeftRelay(InetSocketAddress relayPort, InetSocketAddress direct, Instant at) {
    }

    private final Map<Key, SetAt> setAt = new java.util.HashMap<>();
    /** This machine's addresses at the last pass: a change means it moved to another network. */
    private List<InetSocketAddress> lastLocal;
    /** Per peer, the endpoints worth trying from the last lookup, best first. */
    private final Map<Key, List<InetSocketAddress>> alternatives = new java.util.HashMap<>();
    /** Peers behind our NAT once given a pass for their LAN candidates to arrive (see pass). */
    private final Set<Key> lanWaited = new HashSet<>();
    /** Peers the last pass left alone to wait for their LAN candidates: the next pass comes soon. */
    private final Set<Key> awaitingLan = new HashSet<>();
    /** The sessions' key pair: the interface's private key, destroyed with the sessions. */
    private KeyPair sessionKeys;
    /** The latest snapshot: its private key is destroyed once the next one replaces it. */
    private Device lastRead;

    private DefaultPeerResolver(BuilderImpl b) {
        this.interfaceName = b.interfaceName;
        this.servers = List.copyOf(b.servers());
        this.protocolVersion = b.protocolVersion;
        this.advertiseLocal = b.advertiseLocal;
        this.relayEnabled = b.relayEnabled;
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
            deliverPushes(device);
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
            boolean missing = unanswered != null || !awaitingLan.isEmpty()
                    || results.values().stream().anyMatch(r -> !r.hasEndpoint());
            if (!missing || !clock.instant().isBefore(deadline)) {
                break;
            }
            // From the second pass on the servers push the peers that register meanwhile.
            pause(retryDelay, true);
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
            relayPhase(device, results);
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
        continuous = true;
        Map<Key, PeerResult> results = new LinkedHashMap<>();
        Map<Key, Instant> pending = new LinkedHashMap<>();
        Duration backoff = retryDelay;
        boolean seenInterface = false;
        boolean waitingForPeers = false;
        while (true) {
            try {
                checkOpen();
                Device device = readAnyDevice();
                seenInterface = true;
                if (device.peers().isEmpty()) {
                    if (!waitingForPeers) {
                        LOG.info("{} has no peers yet; looking for new ones every {} ms", interfaceName,
                                PEER_POLL.toMillis());
                        waitingForPeers = true;
                    }
                    register(device);
                    deliverPushes(device);
                    backoff = retryDelay;
                    pauseWatching(PUSHED_POLL, List.of());
                    continue;
                }
                waitingForPeers = false;
                List<Key> current = device.peers().stream().map(Peer::publicKey).toList();
                results.keySet().retainAll(current);
                pending.keySet().retainAll(current);
                rxSeen.keySet().retainAll(current);
                alternatives.keySet().retainAll(current);
                lanWaited.retainAll(current);
                setAt.keySet().retainAll(current);
                wantRelay.retainAll(current);
                relayed.keySet().retainAll(current);
                leftRelays.keySet().retainAll(current);
                lastFound.keySet().retainAll(current);
                deliverPushes(device);
                confirm(device, results, pending);
                pass(device, results, pending, true);
                relayPass(device, results, pending, true);
                backoff = retryDelay;
                boolean pushing;
                synchronized (lock) {
                    pushing = links != null && links.allPushing();
                }
                // With every server pushing, a pass is needed only to watch verifications and as a
                // safety net; a push or a change of the interface's peers ends the pause at once.
                pauseWatching(pushing && pending.isEmpty() && awaitingLan.isEmpty() && wantRelay.isEmpty() && relayed.isEmpty()
                        && leftRelays.isEmpty() ? PUSHED_POLL.compareTo(retryDelay) > 0 ? PUSHED_POLL : retryDelay
                        : verifyStep(), current);
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
     * Registers with the servers while the interface has no peers, so that peers added elsewhere
     * find this one at once, and the sessions are ready when peers are added here.
     */
    private void register(Device device) throws IOException, InterruptedException {
        ServerLinks l = links(device);
        l.lookupAll(List.of(), Set.of(), advertiseLocal ? LocalCandidates.of(interfaceName, device.listenPort()) : List.of());
        l.openDiscovered();
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
                InetSocketAddress next = nextAlternative(peer);
                if (next != null) {
                    r = tryNext(peer, next);
                    pending.put(peer.publicKey(), clock.instant());
                    results.put(peer.publicKey(), r);
                    report(r);
                    continue;
                }
                r = exhausted(peer);
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
        awaitingLan.clear();
        List<Key> ask = new ArrayList<>();
        for (Peer peer : device.peers()) {
            PeerResult previous = results.get(peer.publicKey());
            if (refresh || previous == null || !previous.hasEndpoint()) {
                ask.add(peer.publicKey());
            }
        }
        if (ask.isEmpty()) {
            return;
        }
        List<InetSocketAddress> local = LocalCandidates.of(interfaceName, device.listenPort());
        boolean moved = lastLocal != null && !local.equals(lastLocal);
        lastLocal = local;
        if (moved) {
            // Raw sockets keep the source address they were opened with, and WireGuard sticks to
            // the source it last used: both are stale once this machine has new addresses.
            LOG.info("this machine's addresses changed ({}); registering again and rewriting endpoints", local);
            synchronized (lock) {
                closeSession();
            }
        }
        ServerLinks servers = links(device);
        // A one-shot run subscribes once its first lookup missed someone: a push then ends the
        // wait for the next pass, instead of the retry delay.
        Set<Key> subscribe = refresh || !results.isEmpty() ? device.peers().stream().map(Peer::publicKey)
                .collect(java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new)) : Set.of();
        long asked = System.nanoTime();
        Map<Key, List<PeerEndpoint>> found = servers.lookupAll(ask, subscribe,
                advertiseLocal ? local : List.of());
        LOG.debug("looked up {} of {} peers in {} ms", ask.size(), device.peers().size(),
                (System.nanoTime() - asked) / 1_000_000);
        lastFound.putAll(found);
        // Read again after the round trip: a handshake in the meantime may have come over a path
        // the server does not know (the LAN, a port a NAT chose per destination) and WireGuard
        // roamed there; deciding on the older snapshot would overwrite that working endpoint and
        // take the handshake as proof of the written one. A handshake after this instant counts
        // as proof for any endpoint set in this pass: in the moment between this read and the
        // write, the path the peer used is the one the server reports.
        Device afterLookup = readAnyDevice();
        Instant readAt = clock.instant();
        Set<InetAddress> ourPublic = servers.ourPublicAddresses();
        Set<StandardProtocolFamily> families = servers.workingFamilies();
        java.util.function.Predicate<InetAddress> onOurLinks = LocalCandidates.onOurLinks(interfaceName);
        // Decide for every peer first, then write every endpoint in one exchange with WireGuard:
        // with many peers, one write each is what made a mesh slow to come up.
        Map<Key, Change> changes = new LinkedHashMap<>();
        Map<Key, PeerResult> outcomes = new LinkedHashMap<>();
        Set<Key> unchanged = new HashSet<>();
        for (Peer peer : afterLookup.peers()) {
            checkOpen();
            Key k = peer.publicKey();
            if (!found.containsKey(k)) {
                continue;
            }
            // A peer registers (handshake) before it sends its LAN candidates, and the server
            // shows it in between: one behind our NAT seen without any may just be in that gap.
            // Writing its public mapping now would settle the pair on the NAT's hairpin path
            // (where the NAT has one) for good, since a working tunnel is left alone; one pass
            // of waiting, which a push usually ends at once, lets the LAN path come first.
            if (protocolVersion >= 2 && EndpointChoice.sameNatWithoutLan(found.get(k), ourPublic)
                    && !hasFreshHandshake(peer) && lanWaited.add(k)) {
                awaitingLan.add(k);
                continue;
            }
            List<InetSocketAddress> order = EndpointChoice.order(found.get(k), ourPublic, families, onOurLinks);
            if (order.isEmpty()) {
                alternatives.remove(k);
                outcomes.put(k, PeerResult.of(k, PeerStatus.NOT_FOUND, null));
                continue;
            }
            alternatives.put(k, order);
            if (relayed.containsKey(k)) {
                // The relay stays until a direct attempt (relayPass) proves a direct path.
                continue;
            }
            // A refresh keeps a candidate chosen earlier (by verification) while the server
            // still lists it.
            InetSocketAddress target = refresh && peer.endpoint().filter(order::contains).isPresent()
                    ? peer.endpoint().get() : order.get(0);
            if (!moved && alreadySet(peer, target)) {
                unchanged.add(k);
            }
            changes.put(k, plan(peer, target, moved));
        }
        outcomes.putAll(write(changes.values()));
        for (Map.Entry<Key, PeerResult> e : outcomes.entrySet()) {
            Key k = e.getKey();
            PeerResult result = e.getValue();
            // A refresh that changed nothing has nothing new to verify; a one-shot run verifies
            // even an endpoint set earlier, since it reports on the tunnel.
            if (result.status() == PeerStatus.RESOLVED && !(refresh && unchanged.contains(k))) {
                changedAt.put(k, readAt);
            }
            PeerResult previous = results.get(k);
            if (refresh && previous != null && sameOutcome(previous, result)) {
                continue;
            }
            results.put(k, result);
            if (previous == null || !previous.equals(result)) {
                report(result);
            }
        }
    }

    /** The candidate after the peer's current endpoint in the last lookup's order, or null. */
    private InetSocketAddress nextAlternative(Peer peer) {
        List<InetSocketAddress> order = alternatives.getOrDefault(peer.publicKey(), List.of());
        int i = peer.endpoint().map(order::indexOf).orElse(-1);
        return i >= 0 && i + 1 < order.size() ? order.get(i + 1) : null;
    }

    /**
     * When every candidate failed: points the peer back at the best one, where the other side is
     * likeliest to arrive once it can (its NAT's mapping, not a LAN address), and returns it.
     */
    private InetSocketAddress backToBest(Peer peer) {
        List<InetSocketAddress> order = alternatives.getOrDefault(peer.publicKey(), List.of());
        InetSocketAddress current = peer.endpoint().orElse(null);
        if (order.isEmpty() || order.get(0).equals(current)) {
            return current;
        }
        PeerResult r = apply(peer, order.get(0));
        return r.endpoint().orElse(current);
    }

    /** Points the peer at its next candidate after the current one gave no handshake. */
    private PeerResult tryNext(Peer peer, InetSocketAddress next) {
        LOG.info("{}: no WireGuard handshake via {}, trying {}", shortKey(peer.publicKey()),
                peer.endpoint().map(Endpoints::format).orElse("-"), Endpoints.format(next));
        return apply(peer, next);
    }

    private static String shortKey(Key key) {
        return key.toBase64().substring(0, 16);
    }

    /**
     * Hands what the servers pushed about {@code device}'s peers to the listener, on this thread,
     * as the listener contract says. A push about another key (it looked us up) only ended a pause.
     */
    private void deliverPushes(Device device) {
        Map<Key, List<PeerEndpoint>> copy;
        synchronized (lock) {
            copy = new LinkedHashMap<>(pushed);
            pushed.clear();
        }
        for (Peer p : device.peers()) {
            List<PeerEndpoint> endpoints = copy.get(p.publicKey());
            if (endpoints != null) {
                listener.onPush(p.publicKey(), endpoints);
            }
        }
    }

    private Duration verifyStep() {
        if (verifyWait.isZero()) {
            return retryDelay;
        }
        Duration step = verifyWait.dividedBy(4);
        Duration min = Duration.ofMillis(250);
        step = step.compareTo(min) < 0 ? min : step;
        return step.compareTo(retryDelay) < 0 ? step : retryDelay;
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
        return apply(peer, endpoint, false);
    }

    /**
     * Like {@link #apply(Peer, InetSocketAddress)}; with {@code rewrite}, writes the endpoint even
     * when it is already set (WireGuard then forgets the source address it sticks to, which is
     * stale after this machine's own addresses changed) and re-checks it like a new one.
     */
    private PeerResult apply(Peer peer, InetSocketAddress endpoint, boolean rewrite) {
        return write(List.of(plan(peer, endpoint, rewrite))).get(peer.publicKey());
    }

    /** What pointing a peer at an endpoint comes to: its result, the writes it needs, and what it sets. */
    private record Change(PeerResult result, List<PeerUpdate> updates, SetAt set) {
        static Change none(PeerResult result) {
            return new Change(result, List.of(), null);
        }
    }

    /** Decides what {@link #apply(Peer, InetSocketAddress, boolean)} writes, without writing it. */
    private Change plan(Peer peer, InetSocketAddress endpoint, boolean rewrite) {
        Key key = peer.publicKey();
        Optional<InetSocketAddress> current = peer.endpoint();
        if (!rewrite && hasFreshHandshake(peer) && current.isPresent()) {
            PeerResult working = PeerResult.of(key, PeerStatus.ALREADY_CONNECTED, current.get());
            return peer.persistentKeepaliveSeconds() == 0
                    ? new Change(working, List.of(PeerUpdate.builder(key).persistentKeepaliveSeconds(keepalive).build()), null)
                    : Change.none(working);
        }
        PeerResult resolved = PeerResult.of(key, PeerStatus.RESOLVED, endpoint);
        if (!rewrite && alreadySet(peer, endpoint)) {
            return Change.none(resolved);
        }
        SetAt set = new SetAt(endpoint, peer.rxBytes());
        // WireGuard sends a keepalive (and so starts a handshake) only when the keepalive goes
        // from off to on, after applying the endpoint given with it: a peer without one gets
        // both in one change; one with a keepalive is switched off first, so that the new
        // endpoint counts now instead of at the next keepalive tick.
        if (peer.persistentKeepaliveSeconds() != 0) {
            return new Change(resolved, List.of(
                    PeerUpdate.builder(key).endpoint(endpoint).persistentKeepaliveSeconds(0).build(),
                    PeerUpdate.builder(key).persistentKeepaliveSeconds(keepalive).build()), set);
        }
        return new Change(resolved, List.of(
                PeerUpdate.builder(key).endpoint(endpoint).persistentKeepaliveSeconds(keepalive).build()), set);
    }

    /**
     * Writes the changes in one exchange with WireGuard and records the endpoints set. When that
     * fails (a peer removed from the interface meanwhile, say), each change is written on its own,
     * so that only the ones that fail end in {@link PeerStatus#ERROR}.
     */
    private Map<Key, PeerResult> write(Collection<Change> changes) {
        List<PeerUpdate> updates = changes.stream().flatMap(c -> c.updates().stream()).toList();
        String failure = null;
        try {
            if (!updates.isEmpty()) {
                wireguard.updatePeers(interfaceName, updates);
            }
        } catch (IOException e) {
            if (changes.size() > 1) {
                Map<Key, PeerResult> out = new LinkedHashMap<>();
                for (Change c : changes) {
                    out.putAll(write(List.of(c)));
                }
                return out;
            }
            failure = "could not set the endpoint: " + e.getMessage();
        }
        Map<Key, PeerResult> out = new LinkedHashMap<>();
        for (Change c : changes) {
            Key k = c.result().peer();
            if (failure != null && !c.updates().isEmpty()) {
                out.put(k, PeerResult.failed(k, PeerStatus.ERROR, null, failure));
                continue;
            }
            if (c.set() != null) {
                setAt.put(k, c.set());
            }
            out.put(k, c.result());
        }
        return out;
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
        Duration limit = silenceLimit();
        return handshake && (watched.compareTo(limit) < 0 || silent.compareTo(limit) < 0);
    }

    /** How long a live tunnel goes without receiving: two of the peer's keepalives, and some slack. */
    private Duration silenceLimit() {
        return Duration.ofSeconds(2L * keepalive + 5);
    }

    /** The received-bytes counter of a peer, when it last changed, and since when it is watched. */
    private record RxSeen(long rx, Instant changedAt, Instant watchedSince) {
    }

    /**
     * Waits for handshakes newer than each change, moving a peer to its next candidate when one
     * gives none within the verification time; peers left without any end in NO_HANDSHAKE.
     */
    private void verify(Map<Key, PeerResult> results, Map<Key, Instant> changedAt)
            throws IOException, InterruptedException {
        Map<Key, Instant> pending = new LinkedHashMap<>(changedAt);
        while (!pending.isEmpty()) {
            checkOpen();
            Device device = readDevice();
            Instant now = clock.instant();
            for (Peer peer : device.peers()) {
                Instant since = pending.get(peer.publicKey());
                if (since == null) {
                    continue;
                }
                PeerResult r = connectedSince(peer, since);
                if (r == null && now.isBefore(since.plus(verifyWait))) {
                    continue;
                }
                if (r == null) {
                    InetSocketAddress next = nextAlternative(peer);
                    if (next != null) {
                        r = tryNext(peer, next);
                        pending.put(peer.publicKey(), clock.instant());
                        results.put(peer.publicKey(), r);
                        report(r);
                        continue;
                    }
                    r = exhausted(peer);
                }
                pending.remove(peer.publicKey());
                results.put(peer.publicKey(), r);
                report(r);
            }
            if (!pending.isEmpty()) {
                pause(VERIFY_POLL, false);
            }
        }
    }

    /**
     * {@link PeerStatus#CONNECTED} if WireGuard saw a handshake at or after {@code since}, else
     * null; for a relayed peer {@link PeerStatus#RELAYED}, unless its traffic now arrives directly.
     */
    private PeerResult connectedSince(Peer peer, Instant since) {
        PeerResult r = handshakeSince(peer, since);
        Key k = peer.publicKey();
        RelayUse use = relayed.get(k);
        if (use == null) {
            return r;
        }
        if (directNow(peer, use)) {
            return leaveRelay(peer);
        }
        return r == null ? null : PeerResult.of(k, PeerStatus.RELAYED, use.grant().endpoint());
    }

    /**
     * Whether a relayed peer's traffic arrives directly now: WireGuard's endpoint is neither the
     * relay port nor the endpoint the resolver last wrote. Only WireGuard's roaming moves it
     * there, to the source of an authenticated datagram, so the peer reached us from there: the
     * answer to a direct probe, or the peer's own probe that got through a NAT of ours that lets
     * anyone in. That endpoint, which may be a port the server never saw (the peer's NAT maps per
     * destination), is then kept.
     */
    private boolean directNow(Peer peer, RelayUse use) {
        SetAt set = setAt.get(peer.publicKey());
        return peer.endpoint().isPresent() && !use.isRelay(peer) && set != null
                && !peer.endpoint().get().equals(set.endpoint()) && peer.rxBytes() > set.rxBytes();
    }

    /**
     * Leaves the relay for the direct path WireGuard uses now and releases the pair. The direct
     * endpoint is written, not just left to roaming, and a keepalive goes out on it at once: the
     * peer may still be on the relay (only its probe came directly), and until the pair is
     * released its relayed datagrams would roam our endpoint back there, so that the peer, which
     * has to hear from us directly to leave the relay too, never would.
     */
    private PeerResult leaveRelay(Peer peer) {
        Key k = peer.publicKey();
        InetSocketAddress direct = peer.endpoint().orElseThrow();
        RelayUse use = relayed.remove(k);
        if (use != null) {
            leftRelays.put(k, new LeftRelay(use.grant().endpoint(), direct, clock.instant()));
        }
        wantRelay.remove(k);
        LOG.info("{}: direct path {} works, leaving the relay", shortKey(k), Endpoints.format(direct));
        if (apply(peer, direct, true).status() == PeerStatus.ERROR) {
            LOG.debug("{}: the direct endpoint {} could not be written", shortKey(k), Endpoints.format(direct));
        }
        ServerLinks l = links;
        if (l != null) {
            l.releaseRelay(k);
        }
        return PeerResult.of(k, PeerStatus.CONNECTED, direct);
    }

    /**
     * Proof that the path works since {@code since}: a WireGuard handshake, or, when the peer
     * roamed within a live session (no new handshake for up to 2 minutes), data received from
     * the endpoint that was set: WireGuard moves the endpoint to the source of every
     * authenticated packet, so an unchanged endpoint with grown receive counters means the packets
     * came from there.
     */
    private PeerResult handshakeSince(Peer peer, Instant since) {
        boolean handshake = peer.latestHandshake().filter(t -> !t.isBefore(since)).isPresent();
        SetAt set = setAt.get(peer.publicKey());
        boolean received = set != null && peer.rxBytes() > set.rxBytes()
                && peer.endpoint().filter(set.endpoint()::equals).isPresent();
        return handshake || received
                ? PeerResult.of(peer.publicKey(), PeerStatus.CONNECTED, peer.endpoint().orElse(null))
                : null;
    }

    /** The endpoint the resolver last wrote for a peer, and the peer's receive counter then. */
    private record SetAt(InetSocketAddress endpoint, long rxBytes) {
    }

    /**
     * Every candidate failed verification: the peer waits for a relay (when relaying is on)
     * pointed at its best direct endpoint, where the other side is likeliest to arrive.
     */
    private PeerResult exhausted(Peer peer) {
        Key k = peer.publicKey();
        PeerResult r = noHandshake(k, backToBest(peer));
        if (relayEnabled) {
            wantRelay.add(k);
        }
        return r;
    }

    /**
     * Asks for a relay for every peer that wants one, and points each granted peer at its relay
     * port; leaves the relay for peers whose traffic arrives directly; in continuous mode also
     * probes the direct paths of relayed peers and binds again those whose relayed path went silent.
     */
    private void relayPass(Device device, Map<Key, PeerResult> results, Map<Key, Instant> pending, boolean continuous)
            throws IOException, InterruptedException {
        if (!relayEnabled || (wantRelay.isEmpty() && relayed.isEmpty() && leftRelays.isEmpty())) {
            return;
        }
        ServerLinks l = links(device);
        boolean directSlot = continuous && newDirectSlot();
        Instant now = clock.instant();
        List<Key> probed = new ArrayList<>();
        for (Peer peer : device.peers()) {
            checkOpen();
            Key k = peer.publicKey();
            holdDirect(peer, now);
            RelayUse use = relayed.get(k);
            if (use != null && directNow(peer, use)) {
                leftRelay(leaveRelay(peer), results, pending);
                continue;
            }
            if (wantRelay.contains(k)) {
                Optional<RendezvousClient.RelayGrant> grant = l.relay(k);
                if (grant.isEmpty()) {
                    continue;
                }
                l.bind(grant.get(), device.listenPort());
                wantRelay.remove(k);
                relayed.put(k, new RelayUse(grant.get(), peer.rxBytes(), now));
                if (use != null && use.grant().endpoint().equals(grant.get().endpoint())) {
                    LOG.info("{}: bound to the relay {} again", shortKey(k), Endpoints.format(grant.get().endpoint()));
                    continue;
                }
                LOG.info("{}: no direct path, relaying through {}", shortKey(k), Endpoints.format(grant.get().endpoint()));
                PeerResult r = apply(peer, grant.get().endpoint(), use != null);
                if (r.status() != PeerStatus.ERROR) {
                    r = PeerResult.of(k, PeerStatus.RELAYED, grant.get().endpoint());
                    pending.put(k, clock.instant());
                }
                results.put(k, r);
                report(r);
            } else if (use != null) {
                if (peer.rxBytes() != use.rxBytes()) {
                    relayed.put(k, new RelayUse(use.grant(), peer.rxBytes(), now));
                } else if (continuous && Duration.between(use.rxGrewAt(), now).compareTo(silenceLimit()) > 0) {
                    // Our NAT may have mapped us anew (the relay drops what comes from an address it
                    // did not learn), or the relay lost the pair: a fresh token, bound from here, mends both.
                    LOG.info("{}: nothing through the relay for {} s, binding again", shortKey(k),
                            Duration.between(use.rxGrewAt(), now).toSeconds());
                    relayed.put(k, new RelayUse(use.grant(), peer.rxBytes(), now));
                    wantRelay.add(k);
                    continue;
                }
                if (directSlot && !alternatives.getOrDefault(k, List.of()).isEmpty()) {
                    InetSocketAddress direct = alternatives.get(k).get(0);
                    LOG.debug("{}: probing the direct path {}", shortKey(k), Endpoints.format(direct));
                    // The write makes WireGuard send one keepalive there at once (see apply).
                    apply(peer, direct, true);
                    probed.add(k);
                }
            }
        }
        if (!probed.isEmpty()) {
            endProbes(probed, results, pending);
        }
    }

    /**
     * A direct probe: WireGuard's endpoint pointed at the peer's best direct endpoint just long
     * enough for one keepalive, which opens our NAT toward it and, if the peer's NAT lets it in,
     * makes the peer's WireGuard roam to us; the peer's client then leaves the relay and answers
     * directly, and ours follows ({@link #directNow}). Both sides probe at the same wall-clock
     * slot, so that two NATs that filter by address open toward each other at once. Then, unless
     * an answer already came directly, the endpoint goes back to the relay: the relayed tunnel
     * pauses for a fraction of a second at most (relayed datagrams that arrive meanwhile move it
     * back by themselves).
     */
    private void endProbes(List<Key> probed, Map<Key, PeerResult> results, Map<Key, Instant> pending)
            throws IOException, InterruptedException {
        // Counted after the writes: whatever arrives from now on moves the endpoint to its source.
        Map<Key, Long> rxBefore = new java.util.HashMap<>();
        for (Peer peer : readDevice().peers()) {
            rxBefore.put(peer.publicKey(), peer.rxBytes());
        }
        pause(DIRECT_PROBE, false);
        for (Peer peer : readDevice().peers()) {
            Key k = peer.publicKey();
            RelayUse use = relayed.get(k);
            if (use == null || !probed.contains(k) || use.isRelay(peer) || peer.endpoint().isEmpty()) {
                continue;
            }
            if (peer.rxBytes() > rxBefore.getOrDefault(k, Long.MAX_VALUE)) {
                leftRelay(leaveRelay(peer), results, pending);
            } else {
                apply(peer, use.grant().endpoint(), true);
            }
        }
    }

    /**
     * For a while after leaving the relay, points WireGuard back at the direct endpoint whenever
     * it roamed to the released relay port: the peer may still be on the relay (our probe ended
     * as its relayed keepalive left), and each of its relayed datagrams moves our endpoint there
     * until it has heard from us directly, which this rewrite's keepalive makes happen.
     */
    private void holdDirect(Peer peer, Instant now) {
        LeftRelay left = leftRelays.get(peer.publicKey());
        if (left == null) {
            return;
        }
        if (relayed.containsKey(peer.publicKey()) || Duration.between(left.at(), now).compareTo(HOLD_DIRECT) > 0) {
            leftRelays.remove(peer.publicKey());
        } else if (peer.endpoint().filter(left.relayPort()::equals).isPresent()) {
            LOG.debug("{}: roamed back to the released relay port {}, pointing at {} again", shortKey(peer.publicKey()),
                    Endpoints.format(left.relayPort()), Endpoints.format(left.direct()));
            apply(peer, left.direct(), true);
        }
    }

    private void leftRelay(PeerResult r, Map<Key, PeerResult> results, Map<Key, Instant> pending) {
        pending.remove(r.peer());
        results.put(r.peer(), r);
        report(r);
    }

    /**
     * Whether a new direct-probe slot began: slots are wall-clock multiples of {@link
     * #DIRECT_RETRY}, so that both sides of a relayed pair probe at the same moment, which is what
     * opens two NATs that filter by address toward each other.
     */
    private boolean newDirectSlot() {
        long slot = clock.instant().getEpochSecond() / DIRECT_RETRY.toSeconds();
        if (slot == lastDirectSlot) {
            return false;
        }
        boolean first = lastDirectSlot < 0;
        lastDirectSlot = slot;
        return !first;
    }

    /** One-shot mode: waits for the relays of peers that want one, then verifies them. */
    private void relayPhase(Device device, Map<Key, PeerResult> results) throws IOException, InterruptedException {
        if (!relayEnabled || wantRelay.isEmpty()) {
            return;
        }
        Map<Key, Instant> pending = new LinkedHashMap<>();
        Instant deadline = clock.instant().plus(verifyWait);
        while (!wantRelay.isEmpty() && clock.instant().isBefore(deadline)) {
            relayPass(readDevice(), results, pending, false);
            if (!wantRelay.isEmpty()) {
                pause(Duration.ofSeconds(1), false);
            }
        }
        if (!pending.isEmpty()) {
            verify(results, pending);
        }
    }

    private PeerResult noHandshake(Key key, InetSocketAddress endpoint) {
        String why = "no WireGuard handshake within " + verifyWait.toSeconds() + " s of setting the"
                + " endpoint: a direct path is unlikely (a NAT that maps per destination,"
                + " i.e. a symmetric NAT, on either side?) or the peer has not looked us up yet";
        ServerLinks l = links;
        Optional<NatReport> nat = l == null ? Optional.empty() : l.natReport();
        if (nat.isPresent() && nat.get().symmetric()) {
            why += "; this machine's NAT is symmetric (measured with the server's NAT probe), so only a peer"
                    + " whose NAT accepts any sender, or a relay, can reach it";
        } else if (nat.isPresent()) {
            why += "; this machine's NAT is not symmetric (measured with the server's NAT probe), so the"
                    + " obstacle is on the peer's side";
        }
        return PeerResult.failed(key, PeerStatus.NO_HANDSHAKE, endpoint, why);
    }

    private Device readDevice() throws IOException {
        Device device = readAnyDevice();
        if (device.peers().isEmpty()) {
            throw new IOException(interfaceName + " has no peers: add them first, e.g."
                    + " wg set " + interfaceName + " peer <PUBLIC_KEY> allowed-ips <IP>/32");
        }
        return device;
    }

    /** The interface, which may have no peers yet. */
    private Device readAnyDevice() throws IOException {
        Device device = wireguard.device(interfaceName);
        forget(lastRead, device);
        lastRead = device;
        if (device.privateKey().isEmpty()) {
            throw new IOException("cannot read the private key of " + interfaceName
                    + ": natpunch registers with the interface's own key, so it needs root"
                    + " (or CAP_NET_ADMIN) and an interface with a private key set");
        }
        return device;
    }

    /**
     * Continuous mode's pause: up to {@code d}, ended at once by a push with news about one of
     * {@code peers}, and, by a read of the interface every {@link #PEER_POLL} (more often for a
     * while after another key looked us up), by a change of its peers.
     */
    private void pauseWatching(Duration d, List<Key> peers) throws IOException, InterruptedException {
        long end = System.nanoTime() + d.toNanos();
        long watchUntil = System.nanoTime();
        long left;
        while ((left = end - System.nanoTime()) > 0) {
            long step = watchUntil - System.nanoTime() > 0 ? LOOKED_UP_POLL.toNanos() : PEER_POLL.toNanos();
            pause(Duration.ofNanos(Math.min(left, step)), true);
            synchronized (lock) {
                pushed.entrySet().removeIf(e -> e.getValue().equals(lastFound.get(e.getKey())));
                if (pushed.keySet().stream().anyMatch(peers::contains)) {
                    return;
                }
                if (!pushed.isEmpty()) {
                    watchUntil = System.nanoTime() + LOOKED_UP_WATCH.toNanos();
                }
            }
            if (end - System.nanoTime() > 0
                    && !readAnyDevice().peers().stream().map(Peer::publicKey).toList().equals(peers)) {
                return;
            }
            synchronized (lock) {
                pushed.keySet().removeIf(k -> !peers.contains(k));
            }
        }
    }

    /**
     * The server sessions for this device, reopened when the listen port changed. In continuous
     * mode they ask to hear of the keys that look us up (a one-shot run has looked up all its
     * peers already: it would only pay an acknowledgement for each).
     */
    private ServerLinks links(Device device) throws IOException {
        synchronized (lock) {
            checkOpenUnchecked();
            if (links != null && linksPort == device.listenPort() && linksHear == continuous) {
                return links;
            }
            closeSession();
            ServerLinks l = new ServerLinks(servers, transports, responseTimeout, clock, protocolVersion,
                    continuous, this::onPush, listener);
            sessionKeys = KeyPair.fromPrivateKey(device.privateKey().orElseThrow());
            try {
                l.open(sessionKeys, device.listenPort());
            } catch (IOException e) {
                l.close();
                throw e;
            }
            links = l;
            linksPort = device.listenPort();
            linksHear = continuous;
            return l;
        }
    }

    /** On a client's receive thread: remember the push and end the pause of the resolver's thread. */
    private void onPush(Key peer, List<PeerEndpoint> endpoints) {
        synchronized (lock) {
            pushed.put(peer, endpoints);
            lock.notifyAll();
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
        pause(backoff.plusMillis(jitter), false);
        Duration next = backoff.multipliedBy(2);
        return next.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : next;
    }

    private void report(PeerResult result) {
        LOG.debug("{} {} {}", result.peer().toBase64(), result.status(), result.endpoint());
        listener.onPeer(result);
    }

    /** Sleeps, waking at once when the resolver is closed (or, if asked, when a server pushed a change). */
    private void pause(Duration d, boolean untilPush) throws IOException, InterruptedException {
        synchronized (lock) {
            long end = System.nanoTime() + d.toNanos();
            long left;
            while (!closed && !(untilPush && !pushed.isEmpty()) && (left = end - System.nanoTime()) > 0) {
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
        if (links != null) {
            links.close();
            links = null;
        }
        linksPort = -1;
        if (sessionKeys != null) {
            sessionKeys.destroy();
            sessionKeys = null;
        }
    }

    /**
     * Zeroes the private key a device snapshot carries (every read of WireGuard returns one)
     * unless the sessions or the {@code next} snapshot use it (a {@link WireguardControl} may
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
        ServerLinks l;
        synchronized (lock) {
            lock.notifyAll();
            l = links;
        }
        if (l != null) {
            // Outside the lock: a pass waiting for the servers holds it, and closing ends the wait.
            l.close();
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
        private final List<ServerLinks.ServerSpec> moreServers = new ArrayList<>();
        private int protocolVersion = 2;
        private boolean advertiseLocal = true;
        private boolean relayEnabled = true;
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
        public Builder addServer(String host, int port, Key key) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("server port must be 1 to 65535, not " + port);
            }
            moreServers.add(new ServerLinks.ServerSpec(Objects.requireNonNull(host, "host"), port,
                    Objects.requireNonNull(key, "key")));
            return this;
        }

        @Override
        public Builder relay(boolean enabled) {
            this.relayEnabled = enabled;
            return this;
        }

        @Override
        public Builder advertiseLocalAddresses(boolean advertise) {
            this.advertiseLocal = advertise;
            return this;
        }

        @Override
        public Builder protocolVersion(int version) {
            if (version != 1 && version != 2) {
                throw new IllegalArgumentException("protocol version must be 1 or 2, not " + version);
            }
            this.protocolVersion = version;
            return this;
        }

        List<ServerLinks.ServerSpec> servers() {
            List<ServerLinks.ServerSpec> all = new ArrayList<>();
            if (serverHost != null) {
                all.add(new ServerLinks.ServerSpec(serverHost, serverPort, serverKey));
            }
            all.addAll(moreServers);
            return all;
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
            if (interfaceName == null || (serverHost == null) != (serverKey == null)
                    || (serverHost == null && moreServers.isEmpty())) {
                throw new IllegalStateException(
                        "interfaceName and a server (server and serverKey, or addServer) are required");
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
