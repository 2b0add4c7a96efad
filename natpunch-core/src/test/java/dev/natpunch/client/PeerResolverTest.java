package dev.natpunch.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.TransportFactory;
import dev.natpunch.net.UdpTransport;
import dev.natpunch.server.RendezvousServer;
import dev.natpunch.wireguard.Device;
import dev.natpunch.wireguard.Peer;
import dev.natpunch.wireguard.PeerUpdate;
import dev.natpunch.wireguard.WireguardControl;
import dev.natpunch.wireguard.WireguardException;
import dev.natpunch.wireguard.WireguardGoDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The resolver against a real in-process server and two real wireguard-go interfaces.
 *
 * <p>The transport here is an ordinary UDP socket on loopback, not the raw socket: the raw socket
 * must send from the WireGuard port, which only makes sense across a NAT, and is tested on its own
 * ({@code RawUdpTransport*Test}) and end to end through real NATs in {@code src-it}. So the
 * endpoints these tests see are the loopback sockets' addresses, and no WireGuard handshake can
 * follow: what is tested is the resolver's bookkeeping with real parts: registration, lookups,
 * retries, what it writes into WireGuard, its states, errors and shutdown.
 */
class PeerResolverTest {
    private static final TransportFactory LOOPBACK = (server, wgPort) -> UdpTransport.open(server);

    private RendezvousServer server;
    private WireguardGoDevice a;
    private WireguardGoDevice b;
    private final KeyPair keysA = KeyPair.generate();
    private final KeyPair keysB = KeyPair.generate();
    private final ExecutorService background = Executors.newCachedThreadPool();

    @BeforeEach
    void setUp() throws Exception {
        WireguardGoDevice.assumeAvailable();
        server = RendezvousServer.builder().bindAddress(InetAddress.getLoopbackAddress()).build();
        server.start();
        a = WireguardGoDevice.start();
        b = WireguardGoDevice.start();
        configure(a, keysA, 51820, keysB, "100.127.50.2/32");
        configure(b, keysB, 51821, keysA, "100.127.50.1/32");
    }

    private static void configure(WireguardGoDevice d, KeyPair own, int port, KeyPair peer, String allowed)
            throws IOException {
        Path key = WireguardGoDevice.privateKeyFile(own.privateKey().toBase64());
        try {
            d.wg("set", d.interfaceName, "private-key", key.toString(), "listen-port", Integer.toString(port),
                    "peer", peer.publicKey().toBase64(), "allowed-ips", allowed);
        } finally {
            Files.deleteIfExists(key);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        background.shutdownNow();
        try {
            if (server != null) {
                server.close();
            }
        } finally {
            try {
                if (a != null) {
                    a.close();
                }
            } finally {
                if (b != null) {
                    b.close();
                }
            }
        }
    }

    private PeerResolver.Builder resolver(WireguardGoDevice d) {
        return PeerResolver.builder()
                .interfaceName(d.interfaceName)
                .server("127.0.0.1", server.localAddress().getPort())
                .serverKey(server.publicKey())
                .wireguard(WireguardControl.uapi())
                .transport(LOOPBACK)
                // Every client here shares 127.0.0.1, which looks like one NAT: LAN candidates
                // would rightly come first. The namespace tests cover them.
                .advertiseLocalAddresses(false)
                .retryDelay(Duration.ofMillis(100))
                .responseTimeout(Duration.ofSeconds(2));
    }

    private static Peer peerOf(WireguardGoDevice d, KeyPair peer) throws IOException {
        return WireguardControl.uapi().device(d.interfaceName).peer(peer.publicKey()).orElseThrow();
    }

    @Test
    void aPeerThatNeverRegistersEndsNotFoundAfterTheTimeoutAndNothingIsWritten() throws Exception {
        List<PeerResult> seen = new CopyOnWriteArrayList<>();
        List<InetSocketAddress> handshakes = new CopyOnWriteArrayList<>();
        ResolveListener listener = new ResolveListener() {
            @Override
            public void onServerHandshake(InetSocketAddress s) {
                handshakes.add(s);
            }

            @Override
            public void onPeer(PeerResult result) {
                seen.add(result);
            }
        };
        try (PeerResolver r = resolver(a).timeout(Duration.ofMillis(600)).listener(listener).build()) {
            ResolveReport report = r.resolveAll();
            assertEquals(1, report.peers().size());
            PeerResult only = report.peers().get(0);
            assertEquals(keysB.publicKey(), only.peer());
            assertEquals(PeerStatus.NOT_FOUND, only.status());
            assertTrue(!report.allResolved());
        }
        assertEquals(List.of(new InetSocketAddress("127.0.0.1", server.localAddress().getPort())), handshakes);
        assertEquals(1, seen.size(), "one line per state change, not one per retry: " + seen);
        assertTrue(server.metrics().lookupsMiss() >= 3, "it kept asking: " + server.metrics());
        Peer untouched = peerOf(a, keysB);
        assertTrue(untouched.endpoint().isEmpty());
        assertEquals(0, untouched.persistentKeepaliveSeconds());
    }

    @Test
    void aRegisteredPeerGetsItsEndpointAndKeepaliveWritten() throws Exception {
        try (PeerResolver r = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            r.resolveAll();
        }
        InetSocketAddress aRegisteredAt = registrationOf(keysA);
        try (PeerResolver r = resolver(b).persistentKeepalive(17).build()) {
            ResolveReport report = r.resolveAll();
            PeerResult result = report.byPeer().get(keysA.publicKey());
            assertEquals(PeerStatus.RESOLVED, result.status());
            assertEquals(aRegisteredAt, result.endpoint().orElseThrow());
            assertTrue(report.allResolved());
        }
        Peer written = peerOf(b, keysA);
        assertEquals(aRegisteredAt, written.endpoint().orElseThrow());
        assertEquals(17, written.persistentKeepaliveSeconds());
        assertTrue(b.dump().contains("100.127.50.1/32"), "allowed IPs untouched: " + b.dump());
    }

    /**
     * A peer behind our NAT shows up registered but without LAN candidates: it may be between
     * its handshake with the server and its REGISTER. The resolver waits a pass instead of
     * writing the public mapping (which, were the NAT to hairpin, would stay for good once the
     * tunnel works), and the LAN candidate sent meanwhile comes first.
     */
    @Test
    void aPeerBehindOurNatGetsAPassForItsLanCandidatesBeforeItsMappingIsWritten() throws Exception {
        // The server refuses loopback candidates; b's namespace has no route to this one.
        InetSocketAddress lan = new InetSocketAddress("100.64.250.9", 51820);
        try (RendezvousClient peerA = new RendezvousClient(keysA, server.publicKey(),
                UdpTransport.open(server.localAddress()))) {
            peerA.handshake();
            try (PeerResolver r = resolver(b).retryDelay(Duration.ofMillis(1500)).timeout(Duration.ofSeconds(20))
                    .build()) {
                Future<ResolveReport> running = background.submit(r::resolveAll);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (server.metrics().lookupsHit() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertTrue(server.metrics().lookupsHit() > 0, "b looked a up");
                peerA.register(List.of(lan));
                ResolveReport report = running.get(20, TimeUnit.SECONDS);
                assertEquals(lan, report.byPeer().get(keysA.publicKey()).endpoint().orElseThrow(), report.toString());
            }
        }
        assertEquals(lan, peerOf(b, keysA).endpoint().orElseThrow());
    }

    /**
     * A WireGuard handshake that lands while the lookup is on its way (here: b reaches a over
     * a veth pair just before a's first request after the server handshake leaves) came over a path
     * the server does not know, and WireGuard roamed there. The resolver must see it and leave
     * that endpoint alone, rather than overwrite it with the server's answer and take the
     * handshake as proof of the endpoint it wrote.
     */
    @Test
    void aHandshakeDuringTheLookupKeepsTheEndpointWireguardRoamedTo() throws Exception {
        try (PeerResolver r = resolver(b).timeout(Duration.ofMillis(300)).build()) {
            r.resolveAll();
        }
        java.util.concurrent.atomic.AtomicReference<InetSocketAddress> roamed = new java.util.concurrent.atomic.AtomicReference<>();
        TransportFactory handshakeMeanwhile = (s, wgPort) -> {
            dev.natpunch.net.DatagramTransport t = UdpTransport.open(s);
            return new dev.natpunch.net.DatagramTransport() {
                @Override
                public InetSocketAddress server() {
                    return t.server();
                }

                @Override
                public void send(java.nio.ByteBuffer datagram) throws IOException {
                    byte type = datagram.get(datagram.position());
                    // The first request after the Noise handshake: a version 1 lookup or a sealed one.
                    if ((type == 3 || type == 4) && roamed.get() == null) {
                        roamed.set(handshakeBToA());
                    }
                    t.send(datagram);
                }

                @Override
                public int receive(java.nio.ByteBuffer dst, Duration timeout) throws IOException {
                    return t.receive(dst, timeout);
                }

                @Override
                public void close() throws IOException {
                    t.close();
                }
            };
        };
        try (PeerResolver r = resolver(a).transport(handshakeMeanwhile).verifyHandshake(Duration.ofSeconds(2)).build()) {
            PeerResult result = r.resolveAll().byPeer().get(keysB.publicKey());
            assertEquals(PeerStatus.ALREADY_CONNECTED, result.status(), result.toString());
            assertEquals(roamed.get(), result.endpoint().orElseThrow());
        }
        assertEquals(roamed.get(), peerOf(a, keysB).endpoint().orElseThrow(),
                "not overwritten with b's registration " + registrationOf(keysB));
    }

    /**
     * Joins a's and b's namespaces with a veth pair (100.64.250.1 and .2), brings both WireGuard
     * interfaces up, points b's WireGuard at a's and waits until a has the handshake: a then
     * knows b's address and port only by roaming, and the server knows nothing of them.
     */
    private InetSocketAddress handshakeBToA() throws IOException {
        WireguardGoDevice.run("ip", "link", "add", "npt-a", "netns", a.namespace, "type", "veth", "peer", "name", "npt-b",
                "netns", b.namespace);
        WireguardGoDevice.run("ip", "-n", a.namespace, "addr", "add", "100.64.250.1/30", "dev", "npt-a");
        WireguardGoDevice.run("ip", "-n", b.namespace, "addr", "add", "100.64.250.2/30", "dev", "npt-b");
        for (WireguardGoDevice d : List.of(a, b)) {
            WireguardGoDevice.run("ip", "-n", d.namespace, "link", "set", d == a ? "npt-a" : "npt-b", "up");
            WireguardGoDevice.run("ip", "-n", d.namespace, "link", "set", d.interfaceName, "up");
        }
        b.wg("set", b.interfaceName, "peer", keysA.publicKey().toBase64(), "endpoint", "100.64.250.1:51820",
                "persistent-keepalive", "1");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        try {
            while (peerOf(a, keysB).latestHandshake().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted waiting for the handshake");
        }
        return new InetSocketAddress("100.64.250.2", 51821);
    }

    /** Every endpoint a pass sets goes to WireGuard in one exchange, not one per peer. */
    @Test
    void aPassWritesEveryPeerInOneExchange() throws Exception {
        List<KeyPair> others = List.of(KeyPair.generate(), KeyPair.generate(), KeyPair.generate());
        int i = 10;
        for (KeyPair other : others) {
            try (RendezvousClient c = new RendezvousClient(other, server.publicKey(), UdpTransport.open(server.localAddress()))) {
                c.handshake();
            }
            a.wg("set", a.interfaceName, "peer", other.publicKey().toBase64(), "allowed-ips", "100.127.50." + i++ + "/32");
        }
        List<List<PeerUpdate>> writes = new CopyOnWriteArrayList<>();
        WireguardControl uapi = WireguardControl.uapi();
        WireguardControl counting = new WireguardControl() {
            @Override
            public Device device(String name) throws WireguardException {
                return uapi.device(name);
            }

            @Override
            public void updatePeer(String name, PeerUpdate update) throws WireguardException {
                writes.add(List.of(update));
                uapi.updatePeer(name, update);
            }

            @Override
            public void updatePeers(String name, List<PeerUpdate> updates) throws WireguardException {
                writes.add(updates);
                uapi.updatePeers(name, updates);
            }

            @Override
            public String backendName() {
                return "counting uapi";
            }
        };
        try (PeerResolver r = resolver(a).wireguard(counting).timeout(Duration.ofMillis(300)).build()) {
            ResolveReport report = r.resolveAll();
            assertEquals(3, report.peers().stream().filter(p -> p.status() == PeerStatus.RESOLVED).count(), report.toString());
        }
        assertEquals(1, writes.size(), "one exchange: " + writes);
        assertEquals(3, writes.get(0).size());
        for (KeyPair other : others) {
            assertEquals(registrationOf(other), peerOf(a, other).endpoint().orElseThrow());
            assertEquals(25, peerOf(a, other).persistentKeepaliveSeconds());
        }
    }

    @Test
    void withoutAHandshakeAfterTheChangeThePeerEndsNoHandshakeWithTheReason() throws Exception {
        try (PeerResolver r = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            r.resolveAll();
        }
        try (PeerResolver r = resolver(b).verifyHandshake(Duration.ofSeconds(1)).build()) {
            ResolveReport report = r.resolveAll();
            PeerResult result = report.peers().get(0);
            assertEquals(PeerStatus.NO_HANDSHAKE, result.status());
            assertTrue(result.error().orElseThrow().contains("a direct path is unlikely"), result.toString());
            assertTrue(!report.allResolved());
        }
    }

    /** With a server that offers NAT probing, the reason also says what this machine's NAT does. */
    @Test
    void theReasonForNoHandshakeNamesTheMeasuredNatBehaviour() throws Exception {
        server.close();
        try (java.net.DatagramSocket probe = new java.net.DatagramSocket(0)) {
            int probePort = probe.getLocalPort();
            probe.close();
            server = RendezvousServer.builder().listen(new InetSocketAddress("127.0.0.1", 0)).probePort(probePort).build();
        }
        server.start();
        try (PeerResolver r = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            r.resolveAll();
        }
        try (PeerResolver r = resolver(b).verifyHandshake(Duration.ofSeconds(1)).relay(false).build()) {
            PeerResult result = r.resolveAll().peers().get(0);
            assertEquals(PeerStatus.NO_HANDSHAKE, result.status());
            assertTrue(result.error().orElseThrow().contains("this machine's NAT is not symmetric (measured"),
                    result.toString());
        }
    }

    @Test
    void continuousModeFollowsAPeerWhoseMappingChanges() throws Exception {
        try (PeerResolver first = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            first.resolveAll();
        }
        InetSocketAddress before = registrationOf(keysA);
        try (PeerResolver follower = resolver(b).build()) {
            Future<?> running = background.submit(() -> {
                follower.runContinuously();
                return null;
            });
            awaitEndpoint(b, keysA, before);
            // A registers again from a new socket: its "NAT mapping" moved.
            try (PeerResolver again = resolver(a).timeout(Duration.ofMillis(300)).build()) {
                again.resolveAll();
            }
            InetSocketAddress after = registrationOf(keysA);
            assertTrue(!after.equals(before));
            awaitEndpoint(b, keysA, after);
            follower.close();
            running.get(5, TimeUnit.SECONDS);
        }
    }

    /**
     * A second server that never answers, while the first works: each failed attempt at it is
     * reported once and followed by a longer rest (however many passes waited for the attempt),
     * and the resolver keeps running and serving from the other server.
     */
    @Test
    void aSilentSecondServerRestsWithBackoffAndNeverStopsTheResolver() throws Exception {
        try (PeerResolver first = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            first.resolveAll();
        }
        List<Long> retries = new CopyOnWriteArrayList<>();
        ResolveListener listener = new ResolveListener() {
            @Override
            public void onRetry(String what, Exception cause) {
                retries.add(System.nanoTime());
            }
        };
        try (java.net.DatagramSocket silent = new java.net.DatagramSocket(0, InetAddress.getLoopbackAddress());
             PeerResolver follower = resolver(b).addServer("127.0.0.1", silent.getLocalPort(), KeyPair.generate().publicKey())
                     .responseTimeout(Duration.ofMillis(500)).listener(listener).build()) {
            long start = System.nanoTime();
            Future<?> running = background.submit(() -> {
                follower.runContinuously();
                return null;
            });
            awaitEndpoint(b, keysA, registrationOf(keysA));
            Thread.sleep(12_000);
            assertTrue(!running.isDone(), "the resolver stopped: " + (running.isDone() ? outcome(running) : ""));
            follower.close();
            running.get(5, TimeUnit.SECONDS);
            // Attempts fail after about two response timeouts; the rests are 1, 2, 4, 8 s.
            assertTrue(retries.size() >= 2 && retries.size() <= 4, "one report per failed attempt: "
                    + retries.stream().map(t -> (t - start) / 1_000_000 + " ms").toList());
            for (int i = 1; i < retries.size(); i++) {
                assertTrue(retries.get(i) - retries.get(i - 1) > TimeUnit.MILLISECONDS.toNanos(900),
                        "a rest between attempts: " + retries.stream().map(t -> (t - start) / 1_000_000 + " ms").toList());
            }
        }
    }

    private static String outcome(Future<?> f) {
        try {
            f.get();
            return "returned";
        } catch (ExecutionException e) {
            return e.getCause().toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    @Test
    void continuousModeReportsAMissingHandshakeOnceNotEveryPass() throws Exception {
        try (PeerResolver first = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            first.resolveAll();
        }
        List<PeerResult> seen = new CopyOnWriteArrayList<>();
        ResolveListener listener = new ResolveListener() {
            @Override
            public void onPeer(PeerResult result) {
                seen.add(result);
            }
        };
        try (PeerResolver follower = resolver(b).verifyHandshake(Duration.ofMillis(500)).listener(listener).build()) {
            Future<?> running = background.submit(() -> {
                follower.runContinuously();
                return null;
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (seen.stream().noneMatch(r -> r.status() == PeerStatus.NO_HANDSHAKE)
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            // Twenty more passes (100 ms apart) must not repeat the verdict.
            Thread.sleep(2000);
            follower.close();
            running.get(5, TimeUnit.SECONDS);
        }
        List<PeerStatus> statuses = seen.stream().map(PeerResult::status).toList();
        assertEquals(List.of(PeerStatus.RESOLVED, PeerStatus.NO_HANDSHAKE), statuses);
    }

    /** Runs {@code waiting} (b's resolver, b without peers) continuously, once b is registered. */
    private Future<?> runUntilBRegisters(PeerResolver waiting) throws Exception {
        Future<?> running = background.submit(() -> {
            waiting.runContinuously();
            return null;
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (lookup(keysB).isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "b never registered while it had no peers");
            Thread.sleep(50);
        }
        return running;
    }

    @Test
    void continuousModeRegistersWithoutPeersAndFindsPeersAddedToTheRunningInterface() throws Exception {
        try (PeerResolver first = resolver(a).timeout(Duration.ofMillis(300)).build()) {
            first.resolveAll();
        }
        b.wg("set", b.interfaceName, "peer", keysA.publicKey().toBase64(), "remove");
        try (PeerResolver waiting = resolver(b).build()) {
            Future<?> running = runUntilBRegisters(waiting);
            b.wg("set", b.interfaceName, "peer", keysA.publicKey().toBase64(), "allowed-ips", "100.127.50.1/32");
            // Well within the 10 s between passes: the interface is re-read every 500 ms.
            long added = System.nanoTime();
            awaitEndpoint(b, keysA, registrationOf(keysA));
            assertTrue(System.nanoTime() - added < TimeUnit.SECONDS.toNanos(5), "the added peer waited for a pass");
            waiting.close();
            running.get(5, TimeUnit.SECONDS);
        }
    }

    /** Counts the reads of the interface, passing everything on to wireguard-go's UAPI. */
    private static final class CountingControl implements WireguardControl {
        final WireguardControl real = WireguardControl.uapi();
        final java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public Device device(String interfaceName) throws WireguardException {
            reads.incrementAndGet();
            return real.device(interfaceName);
        }

        @Override
        public void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException {
            real.updatePeer(interfaceName, update);
        }

        @Override
        public void updatePeers(String interfaceName, List<PeerUpdate> updates) throws WireguardException {
            real.updatePeers(interfaceName, updates);
        }

        @Override
        public String backendName() {
            return real.backendName();
        }
    }

    /**
     * INTEREST: a key that looks us up before it is one of our peers is likely to become one in a
     * moment (someone is adding the pair on both sides), so the waiting resolver reads its
     * interface every 50 ms for a while instead of every 500 ms, and follows the new peer.
     */
    @Test
    void aKeyThatLooksUsUpBeforeItIsOurPeerMakesTheResolverWatchTheInterfaceClosely() throws Exception {
        b.wg("set", b.interfaceName, "peer", keysA.publicKey().toBase64(), "remove");
        CountingControl counting = new CountingControl();
        try (PeerResolver waiting = resolver(b).wireguard(counting).build()) {
            Future<?> running = runUntilBRegisters(waiting);
            // The probe that saw b registered looked it up too: let that watch end.
            Thread.sleep(DefaultPeerResolver.LOOKED_UP_WATCH.toMillis() + 500);
            int quiet = counting.reads.get();
            Thread.sleep(1500);
            quiet = counting.reads.get() - quiet;
            assertTrue(quiet <= 4, "read " + quiet + " times in 1.5 s with nobody looking for it");

            try (PeerResolver first = resolver(a).timeout(Duration.ofMillis(300)).build()) {
                first.resolveAll();
            }
            int watched = counting.reads.get();
            Thread.sleep(1500);
            watched = counting.reads.get() - watched;
            assertTrue(watched >= 3 * Math.max(quiet, 3), "read " + watched + " times in the 1.5 s after a looked b up"
                    + " (" + quiet + " before)");

            b.wg("set", b.interfaceName, "peer", keysA.publicKey().toBase64(), "allowed-ips", "100.127.50.1/32");
            awaitEndpoint(b, keysA, registrationOf(keysA));
            waiting.close();
            running.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void closeStopsAResolutionThatWouldWaitForeverPromptly() throws Exception {
        PeerResolver r = resolver(a).timeout(Duration.ofDays(1)).retryDelay(Duration.ofSeconds(30)).build();
        Future<ResolveReport> running = background.submit(r::resolveAll);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.metrics().lookupsMiss() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        long start = System.nanoTime();
        r.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IOException, e.getCause().toString());
        assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void anInterfaceWithoutPeersIsAClearError() throws Exception {
        b.wg("set", b.interfaceName, "peer", keysA.publicKey().toBase64(), "remove");
        try (PeerResolver r = resolver(b).build()) {
            IOException e = assertThrows(IOException.class, r::resolveAll);
            assertTrue(e.getMessage().contains("has no peers"), e.getMessage());
        }
    }

    @Test
    void anUnknownInterfaceIsAClearError() {
        try (PeerResolver r = resolver(a).interfaceName("npw-none").build()) {
            WireguardException e = assertThrows(WireguardException.class, r::resolveAll);
            assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE, e.kind());
        }
    }

    @Test
    void aWrongServerKeyFailsWithAMessageThatNamesTheLikelyCause() {
        try (PeerResolver r = resolver(a).serverKey(KeyPair.generate().publicKey())
                .responseTimeout(Duration.ofMillis(300)).timeout(Duration.ofMillis(500)).build()) {
            IOException e = assertThrows(IOException.class, r::resolveAll);
            assertTrue(e.getMessage().contains("public key is right"), e.getMessage());
        }
    }

    /** Where the server has {@code client} registered, as a lookup by a third party shows. */
    private InetSocketAddress registrationOf(KeyPair client) throws IOException {
        return lookup(client).orElseThrow();
    }

    private java.util.Optional<InetSocketAddress> lookup(KeyPair client) throws IOException {
        try (RendezvousClient probe = new RendezvousClient(KeyPair.generate(), server.publicKey(),
                UdpTransport.open(server.localAddress()))) {
            return probe.lookup(client.publicKey());
        }
    }

    private static void awaitEndpoint(WireguardGoDevice d, KeyPair peer, InetSocketAddress expected)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (peerOf(d, peer).endpoint().filter(expected::equals).isPresent()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("endpoint never became " + expected + ": " + d.dump());
    }


    @Test
    void everyPrivateKeyReadFromWireguardIsZeroedOnceTheResolverIsDone() throws Exception {
        List<Device> reads = new CopyOnWriteArrayList<>();
        WireguardControl uapi = WireguardControl.uapi();
        WireguardControl recording = new WireguardControl() {
            @Override
            public Device device(String interfaceName) throws WireguardException {
                Device d = uapi.device(interfaceName);
                reads.add(d);
                return d;
            }

            @Override
            public void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException {
                uapi.updatePeer(interfaceName, update);
            }

            @Override
            public String backendName() {
                return "recording";
            }
        };
        try (PeerResolver rb = resolver(b).timeout(Duration.ofMillis(300)).build()) {
            rb.resolveAll();
        }
        try (PeerResolver ra = resolver(a).wireguard(recording).timeout(Duration.ofSeconds(5))
                .verifyHandshake(Duration.ofMillis(700)).build()) {
            ResolveReport report = ra.resolveAll();
            assertEquals(PeerStatus.NO_HANDSHAKE, report.peers().get(0).status(), report.toString());
            assertTrue(reads.size() >= 3, "verification polls the device: " + reads.size());
            assertTrue(reads.stream().filter(d -> !d.privateKey().orElseThrow().isDestroyed()).count() <= 2,
                    "while running, only the session's key and the latest snapshot's are kept");
        }
        for (Device d : reads) {
            assertTrue(d.privateKey().orElseThrow().isDestroyed(), "a snapshot's private key was left in the heap");
        }
        assertEquals(keysA.publicKey(), WireguardControl.uapi().device(a.interfaceName).publicKey().orElseThrow(),
                "the interface itself keeps its key");
    }
}
