package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.Endpoints;
import dev.natpunch.net.TransportFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resolver's sessions with every configured rendezvous server, one per server and address
 * family, all from WireGuard's listen port. Requests go to all of them at once and a pass takes
 * what the servers that answer say, so that a server that is down costs a running mesh nothing: it
 * is left alone for a growing pause and tried again in the background.
 *
 * <p>Used from the resolver's thread; the push callback runs on the clients' receive threads.
 */
final class ServerLinks implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerResolver.class);
    /** Once one server has answered, how long a pass waits for the others. */
    private static final Duration STRAGGLER_GRACE = Duration.ofMillis(250);
    private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    private static final Duration MAX_RETRY = Duration.ofSeconds(30);

    /** One configured server. */
    record ServerSpec(String host, int port, Key key) {
        String describe() {
            return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
        }
    }

    private final List<ServerSpec> servers;
    private final TransportFactory transports;
    private final Duration responseTimeout;
    private final Clock clock;
    private final int protocolVersion;
    private final java.util.function.BiConsumer<Key, List<PeerEndpoint>> onPush;
    private final boolean hearOfLookups;
    private final ResolveListener listener;
    private final ExecutorService executor;
    private final List<Link> links = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Addresses of other families that servers listed in INFO, to register there too. */
    private final java.util.Queue<Discovered> discovered = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private KeyPair keys;
    private int listenPort;
    private boolean natChecked;
    private NatReport nat;

    private record Discovered(ServerSpec spec, InetSocketAddress address) {
    }

    /** A session with one address of one server. */
    private static final class Link {
        final ServerSpec spec;
        final InetSocketAddress address;
        final RendezvousClient client;
        volatile Set<Key> subscribedTo;
        volatile boolean pushing;
        volatile List<InetSocketAddress> registered;
        volatile boolean asked;
        /** Opened because the server listed the address: its failures are news only in the log. */
        boolean discoveredLink;
        CompletableFuture<Map<Key, List<PeerEndpoint>>> inFlight;
        long downUntilNanos;
        Duration retry = FIRST_RETRY;
        IOException lastFailure;

        Link(ServerSpec spec, InetSocketAddress address, RendezvousClient client) {
            this.spec = spec;
            this.address = address;
            this.client = client;
        }
    }

    ServerLinks(List<ServerSpec> servers, TransportFactory transports, Duration responseTimeout, Clock clock,
                int protocolVersion, boolean hearOfLookups, java.util.function.BiConsumer<Key, List<PeerEndpoint>> onPush,
                ResolveListener listener) {
        this.servers = List.copyOf(servers);
        this.transports = transports;
        this.responseTimeout = responseTimeout;
        this.clock = clock;
        this.protocolVersion = protocolVersion;
        this.hearOfLookups = hearOfLookups;
        this.onPush = onPush;
        this.listener = listener;
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "natpunch-resolver-request");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens a session per server and family that this machine can send to, from {@code listenPort}.
     *
     * @throws IOException if no server name resolves or no transport can be opened
     */
    synchronized void open(KeyPair keys, int listenPort) throws IOException {
        this.keys = keys;
        this.listenPort = listenPort;
        IOException first = null;
        List<String> unresolved = new ArrayList<>();
        for (ServerSpec spec : servers) {
            Map<StandardProtocolFamily, InetSocketAddress> addresses;
            try {
                addresses = Endpoints.resolvePerFamily(spec.host(), spec.port());
            } catch (UnknownHostException e) {
                IOException clear = new IOException("cannot resolve the server name '" + spec.host()
                        + "': check the spelling and this machine's DNS", e);
                first = first == null ? clear : first;
                unresolved.add(clear.getMessage());
                continue;
            }
            for (InetSocketAddress address : addresses.values()) {
                try {
                    links.add(newLink(spec, address));
                } catch (IOException e) {
                    first = first == null ? e : first;
                    LOG.debug("cannot reach {} at {}: {}", spec.describe(), address, e.getMessage());
                }
            }
        }
        if (links.isEmpty()) {
            throw first != null ? first : new IOException("no rendezvous server configured");
        }
        // With no server at all the caller reports the failure; with some, the others are news.
        for (String why : unresolved) {
            LOG.warn("{}; using the other servers", why);
        }
    }

    private Link newLink(ServerSpec spec, InetSocketAddress address) throws IOException {
        RendezvousClient client = RendezvousClient
                .builder(keys, spec.key(), transports.open(address, listenPort))
                .responseTimeout(responseTimeout)
                .clock(clock)
                .protocolVersion(protocolVersion)
                .pushListener(onPush::accept)
                .hearOfLookups(hearOfLookups)
                .build();
        return new Link(spec, address, client);
    }

    /**
     * Opens a session with each address of another family that a server listed, so that it
     * registers that family of ours too (protocol-v2.md 6.4); one this machine cannot send to
     * simply fails and rests. Every lookup does this first; a caller with time to spare can do it
     * earlier.
     */
    synchronized void openDiscovered() {
        Discovered d;
        while ((d = discovered.poll()) != null) {
            StandardProtocolFamily family = Endpoints.family(d.address().getAddress());
            ServerSpec spec = d.spec();
            boolean have = links.stream().anyMatch(l -> l.spec.equals(spec)
                    && Endpoints.family(l.address.getAddress()) == family);
            if (have) {
                continue;
            }
            try {
                Link extra = newLink(spec, d.address());
                extra.discoveredLink = true;
                links.add(extra);
                LOG.info("{} also listens on {}: registering there too", spec.describe(), Endpoints.format(d.address()));
            } catch (IOException e) {
                LOG.debug("cannot reach {} at {}: {}", spec.describe(), d.address(), e.getMessage());
            }
        }
    }

    /**
     * Looks {@code keys} up at every server that is not resting after a failure, after making sure
     * each has the subscriptions and candidates asked for; merges what the answering servers say.
     *
     * @throws IOException the first server's failure, when no server answered
     */
    synchronized Map<Key, List<PeerEndpoint>> lookupAll(List<Key> keys, Set<Key> subscribe, List<InetSocketAddress> candidates)
            throws IOException, InterruptedException {
        openDiscovered();
        long now = System.nanoTime();
        List<Link> asked = new ArrayList<>();
        for (Link link : links) {
            if (link.inFlight != null || now - link.downUntilNanos < 0) {
                continue;
            }
            link.inFlight = CompletableFuture.supplyAsync(() -> request(link, keys, subscribe, candidates), executor);
            asked.add(link);
        }
        if (asked.isEmpty() && links.stream().allMatch(l -> l.inFlight == null)) {
            IOException last = links.get(0).lastFailure;
            throw last != null ? last : new IOException("no rendezvous server answered recently");
        }
        long deadline = now + responseTimeout.toNanos() + TimeUnit.SECONDS.toNanos(1);
        long answeredAt = 0;
        List<Map<Key, List<PeerEndpoint>>> answers = new ArrayList<>();
        IOException failure = null;
        List<Link> waiting = new ArrayList<>();
        for (Link link : links) {
            if (link.inFlight != null) {
                waiting.add(link);
            }
        }
        while (!waiting.isEmpty()) {
            long t = System.nanoTime();
            long until = answeredAt != 0 ? Math.min(deadline, answeredAt + STRAGGLER_GRACE.toNanos()) : deadline;
            if (t - until >= 0) {
                break;
            }
            Link link = waiting.get(0);
            // A request left running by an earlier pass has a completion action (below) that a
            // thread waiting in get() may run itself, here, under this lock: it empties
            // link.inFlight, so the future is kept, and whoever still finds it there handles it.
            CompletableFuture<Map<Key, List<PeerEndpoint>>> f = link.inFlight;
            try {
                f.get(Math.min(until - t, TimeUnit.MILLISECONDS.toNanos(20)), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                waiting.add(waiting.remove(0));
                continue;
            } catch (ExecutionException e) {
                // collected below
            }
            waiting.remove(0);
            boolean ours = link.inFlight == f;
            link.inFlight = null;
            try {
                answers.add(f.join());
                link.retry = FIRST_RETRY;
                if (answeredAt == 0) {
                    answeredAt = System.nanoTime();
                }
            } catch (java.util.concurrent.CompletionException e) {
                IOException cause = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                failure = failure == null ? cause : failure;
                if (ours) {
                    rest(link, cause);
                }
            }
        }
        // Servers that are still busy finish in the background; their outcome counts next pass.
        for (Link link : waiting) {
            CompletableFuture<Map<Key, List<PeerEndpoint>>> f = link.inFlight;
            f.whenComplete((r, e) -> {
                synchronized (ServerLinks.this) {
                    if (link.inFlight == f) {
                        link.inFlight = null;
                        if (e != null) {
                            rest(link, e.getCause() instanceof IOException io ? io : new IOException(e));
                        }
                    }
                }
            });
        }
        if (answers.isEmpty()) {
            throw failure != null ? failure : new IOException("no rendezvous server answered within "
                    + responseTimeout.toSeconds() + " s");
        }
        Map<Key, List<PeerEndpoint>> merged = new LinkedHashMap<>();
        for (Key k : keys) {
            Set<PeerEndpoint> union = new LinkedHashSet<>();
            for (Map<Key, List<PeerEndpoint>> a : answers) {
                union.addAll(a.getOrDefault(k, List.of()));
            }
            merged.put(k, List.copyOf(union));
        }
        return merged;
    }

    private Map<Key, List<PeerEndpoint>> request(Link link, List<Key> keys, Set<Key> subscribe,
                                                 List<InetSocketAddress> candidates) {
        try {
            boolean fresh = link.client.protocolVersion() == 0;
            if (!subscribe.equals(link.subscribedTo)) {
                link.pushing = link.client.subscribe(subscribe);
                link.subscribedTo = Set.copyOf(subscribe);
            }
            if (!candidates.equals(link.registered) && link.client.protocolVersion() >= 2) {
                link.client.register(candidates);
                link.registered = List.copyOf(candidates);
            }
            Map<Key, List<PeerEndpoint>> result = link.client.lookupAll(keys);
            if (!link.asked && link.client.protocolVersion() >= 2) {
                link.asked = true;
                for (InetSocketAddress a : link.client.serverAddresses()) {
                    if (Endpoints.family(a.getAddress()) != Endpoints.family(link.address.getAddress())
                            && !a.getAddress().isLoopbackAddress() && !a.getAddress().isLinkLocalAddress()) {
                        discovered.add(new Discovered(link.spec, a));
                    }
                }
            }
            if (fresh) {
                LOG.debug("registered with {} ({}), protocol version {}", link.spec.describe(), link.address,
                        link.client.protocolVersion());
                listener.onServerHandshake(link.address);
            }
            return result;
        } catch (IOException e) {
            throw new java.util.concurrent.CompletionException(e);
        }
    }

    private synchronized void rest(Link link, IOException cause) {
        link.lastFailure = cause;
        link.subscribedTo = null;
        if (links.size() == 1) {
            // The resolver's own backoff paces a lone server.
            return;
        }
        link.downUntilNanos = System.nanoTime() + link.retry.toNanos();
        link.registered = null;
        LOG.debug("{} ({}) failed, asking it again in {} s: {}", link.spec.describe(), link.address,
                link.retry.toSeconds(), cause.getMessage());
        if (links.size() > 1 && !link.discoveredLink) {
            listener.onRetry("the rendezvous server " + link.spec.describe(), cause);
        }
        Duration next = link.retry.multipliedBy(2);
        link.retry = next.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : next;
    }

    /**
     * Asks the servers with a version 2 session, in order, for a relay pair with {@code peer}.
     *
     * @return the first grant; empty while the pair is pending or no server relays for us
     */
    Optional<RendezvousClient.RelayGrant> relay(Key peer) {
        for (Link l : links) {
            if (l.client.protocolVersion() < 2) {
                continue;
            }
            try {
                Optional<RendezvousClient.RelayGrant> g = l.client.relay(peer);
                if (g.isPresent()) {
                    return g;
                }
            } catch (IOException e) {
                LOG.debug("relay request to {} failed: {}", l.spec.describe(), e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Ends the relay pair with {@code peer} at every server (a direct path works now). */
    void releaseRelay(Key peer) {
        for (Link l : links) {
            if (l.client.protocolVersion() >= 2) {
                try {
                    l.client.releaseRelay(peer);
                } catch (IOException e) {
                    LOG.debug("relay release at {} failed: {}", l.spec.describe(), e.getMessage());
                }
            }
        }
    }

    /**
     * Sends the grant's bind datagram from WireGuard's port, so that the relay learns the address
     * our NAT gives WireGuard's datagrams toward it. Sent twice: it is not acknowledged, and a
     * second copy with a used token is dropped harmlessly.
     */
    void bind(RendezvousClient.RelayGrant grant, int listenPort) throws IOException {
        try (dev.natpunch.net.DatagramTransport t = transports.open(grant.endpoint(), listenPort)) {
            byte[] d = grant.bindDatagram();
            t.send(java.nio.ByteBuffer.wrap(d));
            t.send(java.nio.ByteBuffer.wrap(d));
        }
    }

    /**
     * This machine's NAT behaviour, measured once with {@link NetCheck} against the first server
     * that offers NAT probing (from another local port and with a throw-away key, so nothing of
     * ours is registered), or empty when no server does.
     */
    synchronized Optional<NatReport> natReport() {
        if (natChecked) {
            return Optional.ofNullable(nat);
        }
        natChecked = true;
        for (Link l : links) {
            if (l.client.protocolVersion() < 2) {
                continue;
            }
            try {
                nat = NetCheck.builder(l.address, l.spec.key()).perProbe(Duration.ofMillis(500), 2).build().run();
                LOG.info("this machine's NAT, measured with {}: {} mapping, {} filtering", l.spec.describe(),
                        nat.mapping(), nat.filtering());
                return Optional.of(nat);
            } catch (IOException e) {
                LOG.debug("no NAT measurement from {}: {}", l.spec.describe(), e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Whether every server that is up pushes changes, so that polling can be rare. */
    boolean allPushing() {
        return links.stream().allMatch(l -> l.pushing);
    }

    /** Our public addresses as the servers last saw them (version 2 servers only). */
    Set<InetAddress> ourPublicAddresses() {
        Set<InetAddress> out = new LinkedHashSet<>();
        for (Link l : links) {
            l.client.observedEndpoint().ifPresent(e -> out.add(e.getAddress()));
        }
        return out;
    }

    /** The address families of the servers that answered the last request. */
    Set<StandardProtocolFamily> workingFamilies() {
        Set<StandardProtocolFamily> out = new LinkedHashSet<>();
        for (Link l : links) {
            if (l.client.protocolVersion() > 0) {
                out.add(Endpoints.family(l.address.getAddress()));
            }
        }
        return out;
    }

    @Override
    public void close() {
        // Not synchronized: closing the clients is what ends a lookupAll that is waiting.
        for (Link l : links) {
            try {
                l.client.close();
            } catch (IOException e) {
                LOG.debug("closing the session with {} failed", l.address, e);
            }
        }
        links.clear();
        executor.shutdownNow();
    }
}
