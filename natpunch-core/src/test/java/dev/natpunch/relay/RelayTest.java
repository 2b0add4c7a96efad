package dev.natpunch.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.relay.AllocationResult.Status;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The relay with real UDP sockets on loopback, an injected clock for expiry and the bandwidth limit. */
class RelayTest {
    private static final StandardProtocolFamily V4 = StandardProtocolFamily.INET;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final TestClock clock = new TestClock();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    /**
     * A random range below the ephemeral ports (32768 and up, where the test's own sockets land),
     * so that concurrent test runs rarely meet; ports in use elsewhere are skipped anyway.
     */
    private static int firstPort(int size) {
        return ThreadLocalRandom.current().nextInt(10_000, 32_000 - size);
    }

    private Relay.Builder builder(int ports) {
        int first = firstPort(ports);
        return Relay.builder().address(LOOPBACK).portRange(first, first + ports - 1).clock(clock).workerThreads(1);
    }

    private UdpRelay start(Relay.Builder b) throws IOException {
        UdpRelay r = (UdpRelay) b.build();
        toClose.add(r);
        r.start();
        return r;
    }

    private Peer peer() throws IOException {
        Peer p = new Peer(LOOPBACK);
        toClose.add(p);
        return p;
    }

    /** Waits (at most 10 s, only as a bound for a hung test) until the counter reaches {@code n}. */
    private static void awaitCount(LongSupplier counter, long n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (counter.getAsLong() < n) {
            assertTrue(System.nanoTime() < deadline, "counter stuck at " + counter.getAsLong() + ", expected " + n);
            Thread.sleep(2);
        }
        assertEquals(n, counter.getAsLong());
    }

    /** A ready pair whose two sides have bound from their peers' sockets. */
    private AllocationResult[] bound(UdpRelay relay, Peer a, Peer b) throws Exception {
        assertEquals(Status.PENDING, relay.allocate(a.key, b.key, V4).status());
        AllocationResult rb = relay.allocate(b.key, a.key, V4);
        AllocationResult ra = relay.allocate(a.key, b.key, V4);
        long before = relay.metrics().binds();
        a.bind(ra);
        b.bind(rb);
        awaitCount(() -> relay.metrics().binds(), before + 2);
        return new AllocationResult[] {ra, rb};
    }

    @Test
    void pairIsPendingUntilBothAskThenReadyForBothWithTheirOwnPortAndToken() throws Exception {
        UdpRelay relay = start(builder(10).pendingLifetime(Duration.ofSeconds(20)).idleTimeout(Duration.ofSeconds(70)));
        Key a = KeyPair.generate().publicKey();
        Key b = KeyPair.generate().publicKey();

        AllocationResult first = relay.allocate(a, b, V4);
        assertEquals(Status.PENDING, first.status());
        assertEquals(Duration.ofSeconds(20), first.lifetime());
        assertTrue(first.endpoint().isEmpty());
        assertThrows(IllegalStateException.class, first::token);
        assertEquals(Status.PENDING, relay.allocate(a, b, V4).status(), "asking again keeps it pending");
        assertTrue(relay.endpointFacing(a, b).isEmpty());
        assertEquals(1, relay.metrics().pending());
        assertEquals(0, relay.portsInUse(), "no port before both asked");

        AllocationResult rb = relay.allocate(b, a, V4);
        AllocationResult ra = relay.allocate(a, b, V4);
        assertEquals(Status.READY, rb.status());
        assertEquals(Status.READY, ra.status());
        assertEquals(Duration.ofSeconds(70), ra.lifetime());
        InetSocketAddress ea = ra.endpoint().orElseThrow();
        InetSocketAddress eb = rb.endpoint().orElseThrow();
        assertEquals(LOOPBACK, ea.getAddress());
        assertNotEquals(ea.getPort(), eb.getPort(), "one port facing each client");
        assertFalse(Arrays.equals(ra.token(), rb.token()), "each side has its own token");
        assertEquals(16, ra.token().length);
        assertEquals(ea, relay.endpointFacing(a, b).orElseThrow());
        assertEquals(eb, relay.endpointFacing(b, a).orElseThrow());

        AllocationResult again = relay.allocate(a, b, V4);
        assertEquals(ea, again.endpoint().orElseThrow(), "idempotent");
        assertArrayEquals(ra.token(), again.token(), "an unused token is handed out again (retransmitted ALLOCATE)");
        RelayMetrics m = relay.metrics();
        assertEquals(1, m.allocations());
        assertEquals(0, m.pending());
        assertEquals(1, m.allocationsCreated());
        assertEquals(2, relay.portsInUse());
    }

    @Test
    void forwardsDatagramsBothWaysByteForByteFromTheOtherSidesPort() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        AllocationResult[] r = bound(relay, a, b);
        InetSocketAddress ea = r[0].endpoint().orElseThrow();
        InetSocketAddress eb = r[1].endpoint().orElseThrow();
        Random random = new Random(42);
        long bytes = 0;
        int[] sizes = {0, 1, 4, 32, 148, 92, 1420, 1500, 8000, 65_507};
        for (int size : sizes) {
            byte[] toB = new byte[size];
            random.nextBytes(toB);
            a.send(ea, toB);
            Peer.Received atB = b.receive();
            assertArrayEquals(toB, atB.data(), "a -> b, " + size + " bytes");
            assertEquals(eb, atB.from(), "b sees the datagram come from its own relay port");

            byte[] toA = new byte[size];
            random.nextBytes(toA);
            b.send(eb, toA);
            Peer.Received atA = a.receive();
            assertArrayEquals(toA, atA.data(), "b -> a, " + size + " bytes");
            assertEquals(ea, atA.from());
            bytes += 2L * size;
        }
        awaitCount(() -> relay.metrics().datagramsForwarded(), 2L * sizes.length);
        RelayMetrics m = relay.metrics();
        assertEquals(bytes, m.bytesForwarded());
        assertEquals(0, m.totalDrops(), m.toString());
    }

    @Test
    void nothingIsForwardedUntilBothSidesHaveBound() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        relay.allocate(a.key, b.key, V4);
        AllocationResult rb = relay.allocate(b.key, a.key, V4);
        AllocationResult ra = relay.allocate(a.key, b.key, V4);
        InetSocketAddress ea = ra.endpoint().orElseThrow();
        InetSocketAddress eb = rb.endpoint().orElseThrow();

        a.send(ea, new byte[] {1, 0, 0, 0});
        awaitCount(() -> relay.metrics().drops(RelayDropReason.UNKNOWN_SOURCE), 1);
        a.bind(ra);
        awaitCount(() -> relay.metrics().binds(), 1);
        a.send(ea, new byte[] {1, 0, 0, 0});
        awaitCount(() -> relay.metrics().drops(RelayDropReason.PEER_NOT_BOUND), 1);
        b.send(eb, new byte[] {2, 0, 0, 0});
        awaitCount(() -> relay.metrics().drops(RelayDropReason.UNKNOWN_SOURCE), 2);
        assertTrue(a.silentFor(50) && b.silentFor(50));

        b.bind(rb);
        awaitCount(() -> relay.metrics().binds(), 2);
        b.send(eb, new byte[] {2, 0, 0, 0});
        assertArrayEquals(new byte[] {2, 0, 0, 0}, a.receive().data());
        assertTrue(b.silentFor(50), "the relay never answers a bind");
    }

    @Test
    void aThirdPartyCanNeitherBindNorUseNorHijackThePair() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        Peer mallory = peer();
        relay.allocate(a.key, b.key, V4);
        AllocationResult rb = relay.allocate(b.key, a.key, V4);
        AllocationResult ra = relay.allocate(a.key, b.key, V4);
        InetSocketAddress ea = ra.endpoint().orElseThrow();
        InetSocketAddress eb = rb.endpoint().orElseThrow();

        // Before the pair binds: guessed tokens and a token of another pair do not bind.
        byte[] guess = new byte[16];
        new Random(7).nextBytes(guess);
        mallory.bind(ea, guess);
        mallory.bind(eb, new byte[16]);
        mallory.bind(ea, rb.token());
        awaitCount(() -> relay.metrics().drops(RelayDropReason.BIND_REJECTED), 3);
        assertEquals(0, relay.metrics().binds());

        a.bind(ra);
        b.bind(rb);
        awaitCount(() -> relay.metrics().binds(), 2);
        // A bind seen on the path, replayed from elsewhere, binds nothing: the token binds once.
        mallory.bind(ea, ra.token());
        mallory.bind(eb, rb.token());
        awaitCount(() -> relay.metrics().drops(RelayDropReason.BIND_REJECTED), 5);
        // Mallory's datagrams go nowhere, on either port.
        mallory.send(ea, new byte[] {4, 0, 0, 0, 9});
        mallory.send(eb, new byte[] {4, 0, 0, 0, 9});
        awaitCount(() -> relay.metrics().drops(RelayDropReason.UNKNOWN_SOURCE), 2);
        // The pair still talks, and only to each other.
        b.send(eb, new byte[] {4, 0, 0, 0, 1});
        assertArrayEquals(new byte[] {4, 0, 0, 0, 1}, a.receive().data());
        a.send(ea, new byte[] {4, 0, 0, 0, 2});
        assertArrayEquals(new byte[] {4, 0, 0, 0, 2}, b.receive().data());
        assertTrue(mallory.silentFor(50), "mallory received nothing");
        assertTrue(a.silentFor(10) && b.silentFor(10), "nothing of mallory's was forwarded");
        awaitCount(() -> relay.metrics().datagramsForwarded(), 2);
    }

    @Test
    void aClientThatMovedRebindsFromItsNewAddressWithAFreshToken() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        AllocationResult[] r = bound(relay, a, b);
        InetSocketAddress ea = r[0].endpoint().orElseThrow();
        InetSocketAddress eb = r[1].endpoint().orElseThrow();
        Peer moved = new Peer(LOOPBACK);
        toClose.add(moved);

        // From the new address the old, used token is refused.
        moved.bind(ea, r[0].token());
        awaitCount(() -> relay.metrics().drops(RelayDropReason.BIND_REJECTED), 1);
        // A second ALLOCATE (over the authenticated session) gives a fresh token, which does bind.
        AllocationResult fresh = relay.allocate(a.key, b.key, V4);
        assertEquals(ea, fresh.endpoint().orElseThrow(), "same port");
        assertFalse(Arrays.equals(r[0].token(), fresh.token()));
        moved.bind(fresh);
        awaitCount(() -> relay.metrics().binds(), 3);

        b.send(eb, new byte[] {4, 0, 0, 0, 3});
        assertArrayEquals(new byte[] {4, 0, 0, 0, 3}, moved.receive().data(), "b's traffic follows a");
        moved.send(ea, new byte[] {4, 0, 0, 0, 4});
        assertArrayEquals(new byte[] {4, 0, 0, 0, 4}, b.receive().data());
        a.send(ea, new byte[] {4, 0, 0, 0, 5});
        awaitCount(() -> relay.metrics().drops(RelayDropReason.UNKNOWN_SOURCE), 1);
        assertTrue(a.silentFor(20) && b.silentFor(20), "the old address is out");
    }

    @Test
    void malformedBindDatagramsAreRejected() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        relay.allocate(a.key, b.key, V4);
        relay.allocate(b.key, a.key, V4);
        AllocationResult ra = relay.allocate(a.key, b.key, V4);
        InetSocketAddress ea = ra.endpoint().orElseThrow();
        byte[] good = Peer.bindDatagram(ra.token());
        byte[] reserved = good.clone();
        reserved[2] = 1;
        byte[] longer = Arrays.copyOf(good, 21);
        byte[] shorter = Arrays.copyOf(good, 19);
        for (byte[] d : List.of(reserved, longer, shorter, new byte[] {6})) {
            a.send(ea, d);
        }
        awaitCount(() -> relay.metrics().drops(RelayDropReason.BIND_REJECTED), 4);
        assertEquals(0, relay.metrics().binds());
        a.send(ea, good);
        awaitCount(() -> relay.metrics().binds(), 1);
        a.send(ea, good);
        Thread.sleep(20);
        assertEquals(4, relay.metrics().drops(RelayDropReason.BIND_REJECTED), "a repeated bind from the bound address is no offence");
    }

    @Test
    void idleAllocationsExpireAndTheirPortsAreReclaimed() throws Exception {
        Duration idle = Duration.ofSeconds(60);
        UdpRelay relay = start(builder(10).idleTimeout(idle));
        Peer a = peer();
        Peer b = peer();
        AllocationResult[] r = bound(relay, a, b);
        InetSocketAddress ea = r[0].endpoint().orElseThrow();
        InetSocketAddress eb = r[1].endpoint().orElseThrow();

        clock.advance(Duration.ofSeconds(40));
        a.send(ea, new byte[] {4, 0, 0, 0});
        b.receive();
        clock.advance(Duration.ofSeconds(40));
        relay.sweep();
        assertEquals(1, relay.metrics().allocations(), "forwarded traffic keeps it alive");

        clock.advance(Duration.ofSeconds(40));
        relay.allocate(b.key, a.key, V4);
        clock.advance(Duration.ofSeconds(40));
        relay.sweep();
        assertEquals(1, relay.metrics().allocations(), "so does a refresh");

        clock.advance(Duration.ofSeconds(20));
        relay.sweep();
        RelayMetrics m = relay.metrics();
        assertEquals(0, m.allocations());
        assertEquals(1, m.allocationsExpired());
        assertEquals(0, relay.portsInUse());
        assertTrue(relay.endpointFacing(a.key, b.key).isEmpty());
        // The ports are really closed: they can be bound again.
        try (DatagramSocket s1 = new DatagramSocket(ea); DatagramSocket s2 = new DatagramSocket(eb)) {
            assertEquals(ea.getPort(), s1.getLocalPort());
        }
        assertEquals(Status.PENDING, relay.allocate(a.key, b.key, V4).status(), "a new pair starts from scratch");
    }

    @Test
    void pendingRequestsExpire() throws Exception {
        UdpRelay relay = start(builder(10).pendingLifetime(Duration.ofSeconds(30)));
        Key a = KeyPair.generate().publicKey();
        Key b = KeyPair.generate().publicKey();
        relay.allocate(a, b, V4);
        clock.advance(Duration.ofSeconds(29));
        relay.sweep();
        assertEquals(1, relay.metrics().pending());
        clock.advance(Duration.ofSeconds(1));
        relay.sweep();
        assertEquals(0, relay.metrics().pending());
        assertEquals(Status.PENDING, relay.allocate(b, a, V4).status(), "a's request is gone");
        relay.allocate(b, a, V4);
        clock.advance(Duration.ofSeconds(31));
        assertEquals(Status.PENDING, relay.allocate(a, b, V4).status(), "expired even without a sweep");
    }

    @Test
    void perClientCapCountsPendingAndReadyPairsAndReleaseFreesIt() throws Exception {
        UdpRelay relay = start(builder(20).maxAllocationsPerClient(2));
        Key a = KeyPair.generate().publicKey();
        Key b1 = KeyPair.generate().publicKey();
        Key b2 = KeyPair.generate().publicKey();
        Key b3 = KeyPair.generate().publicKey();
        assertEquals(Status.PENDING, relay.allocate(a, b1, V4).status());
        assertEquals(Status.PENDING, relay.allocate(b2, a, V4).status());
        assertEquals(Status.READY, relay.allocate(a, b2, V4).status());
        assertEquals(Status.UNAVAILABLE, relay.allocate(a, b3, V4).status(), "a's quota is used up");
        assertEquals(Status.PENDING, relay.allocate(b3, a, V4).status());
        assertEquals(Status.UNAVAILABLE, relay.allocate(a, b3, V4).status(), "also to complete a pair b3 started");
        assertEquals(Status.READY, relay.allocate(a, b2, V4).status(), "existing pairs are still served");
        relay.release(a, b1);
        assertEquals(Status.READY, relay.allocate(a, b3, V4).status(), "b3 had asked; a's freed quota completes it");
        relay.release(b2, a);
        assertEquals(2, relay.portsInUse());
        assertTrue(relay.endpointFacing(a, b2).isEmpty());
        assertEquals(2, relay.metrics().unavailable());
    }

    @Test
    void totalCapsAndThePortRangeBoundAllocations() throws Exception {
        UdpRelay relay = start(builder(4).maxPending(2));
        List<Key[]> pairs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            pairs.add(new Key[] {KeyPair.generate().publicKey(), KeyPair.generate().publicKey()});
        }
        for (Key[] p : pairs) {
            assertEquals(Status.PENDING, relay.allocate(p[0], p[1], V4).status());
            if (p != pairs.get(2)) {
                assertEquals(Status.READY, relay.allocate(p[1], p[0], V4).status());
            }
        }
        assertEquals(4, relay.portsInUse());
        assertEquals(Status.UNAVAILABLE, relay.allocate(pairs.get(2)[1], pairs.get(2)[0], V4).status(),
                "four ports hold two allocations");
        Key x = KeyPair.generate().publicKey();
        assertEquals(Status.PENDING, relay.allocate(x, KeyPair.generate().publicKey(), V4).status());
        assertEquals(Status.UNAVAILABLE, relay.allocate(x, KeyPair.generate().publicKey(), V4).status(), "two pending at most");
        relay.release(pairs.get(0)[0], pairs.get(0)[1]);
        assertEquals(Status.READY, relay.allocate(pairs.get(2)[1], pairs.get(2)[0], V4).status());

        UdpRelay small = start(builder(10).maxAllocations(1));
        Key c = KeyPair.generate().publicKey();
        Key d = KeyPair.generate().publicKey();
        small.allocate(c, d, V4);
        assertEquals(Status.READY, small.allocate(d, c, V4).status());
        small.allocate(d, x, V4);
        assertEquals(Status.UNAVAILABLE, small.allocate(x, d, V4).status());
    }

    @Test
    void unavailableForItselfForAMissingFamilyAndWhenNotRunning() throws Exception {
        Relay.Builder b = builder(10);
        Relay idle = b.build();
        toClose.add(idle);
        Key a = KeyPair.generate().publicKey();
        Key p = KeyPair.generate().publicKey();
        assertEquals(Status.UNAVAILABLE, idle.allocate(a, p, V4).status(), "not started");
        UdpRelay relay = start(builder(10));
        assertEquals(Status.UNAVAILABLE, relay.allocate(a, a, V4).status());
        assertEquals(Status.UNAVAILABLE, relay.allocate(a, p, StandardProtocolFamily.INET6).status(), "no IPv6 address");
        relay.close();
        assertEquals(Status.UNAVAILABLE, relay.allocate(a, p, V4).status(), "closed");
    }

    @Test
    void bandwidthLimitForwardsExactlyTheBurstThenTheRate() throws Exception {
        UdpRelay relay = start(builder(10).bandwidthLimit(5_000, 10_000));
        Peer a = peer();
        Peer b = peer();
        AllocationResult[] r = bound(relay, a, b);
        InetSocketAddress ea = r[0].endpoint().orElseThrow();
        InetSocketAddress eb = r[1].endpoint().orElseThrow();
        LongSupplier handled = () -> relay.metrics().datagramsForwarded()
                + relay.metrics().drops(RelayDropReason.BANDWIDTH_EXCEEDED);

        byte[] kilobyte = new byte[1000];
        for (int i = 0; i < 20; i++) {
            a.send(ea, kilobyte);
        }
        awaitCount(handled, 20);
        assertEquals(10, relay.metrics().datagramsForwarded(), "the clock stands still: the burst and no more");
        for (int i = 0; i < 10; i++) {
            b.receive();
        }
        assertTrue(b.silentFor(20));

        clock.advance(Duration.ofSeconds(1));
        for (int i = 0; i < 10; i++) {
            b.send(eb, kilobyte);
        }
        awaitCount(handled, 30);
        assertEquals(15, relay.metrics().datagramsForwarded(), "one second at 5000 B/s, both directions share it");
        assertEquals(15_000, relay.metrics().bytesForwarded());
        assertEquals(15, relay.metrics().drops(RelayDropReason.BANDWIDTH_EXCEEDED));
    }

    @Test
    void manyAllocationsForwardIndependently() throws Exception {
        int pairs = 100;
        UdpRelay relay = start(builder(2 * pairs).workerThreads(2));
        List<Peer[]> peers = new ArrayList<>();
        List<AllocationResult[]> results = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            Peer a = peer();
            Peer b = peer();
            relay.allocate(a.key, b.key, V4);
            AllocationResult rb = relay.allocate(b.key, a.key, V4);
            AllocationResult ra = relay.allocate(a.key, b.key, V4);
            a.bind(ra);
            b.bind(rb);
            peers.add(new Peer[] {a, b});
            results.add(new AllocationResult[] {ra, rb});
        }
        awaitCount(() -> relay.metrics().binds(), 2L * pairs);
        assertEquals(2 * pairs, relay.portsInUse());
        for (int i = 0; i < pairs; i++) {
            byte[] m = ("pair " + i).getBytes(StandardCharsets.US_ASCII);
            peers.get(i)[0].send(results.get(i)[0].endpoint().orElseThrow(), m);
        }
        for (int i = 0; i < pairs; i++) {
            assertEquals("pair " + i, new String(peers.get(i)[1].receive().data(), StandardCharsets.US_ASCII));
        }
        awaitCount(() -> relay.metrics().datagramsForwarded(), pairs);
        assertEquals(0, relay.metrics().totalDrops());
    }

    @Test
    void hostileDatagramsAreDroppedAndForwardingGoesOn() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        AllocationResult[] r = bound(relay, a, b);
        InetSocketAddress ea = r[0].endpoint().orElseThrow();
        InetSocketAddress eb = r[1].endpoint().orElseThrow();
        List<Peer> senders = new ArrayList<>(List.of(a, b));
        for (int i = 0; i < 8; i++) {
            senders.add(peer());
        }
        Random random = new Random(1);
        int n = 2000;
        for (int i = 0; i < n; i++) {
            // Random bytes, many shaped like bind datagrams, from strangers and from the pair itself
            // (whose garbage the relay forwards: it only ever looks at sources and tokens).
            byte[] d = new byte[random.nextInt(i % 10 == 0 ? 21 : 1500)];
            random.nextBytes(d);
            if (d.length > 0 && i % 3 == 0) {
                d[0] = 6;
            }
            senders.get(random.nextInt(senders.size())).send(random.nextBoolean() ? eb : ea, d);
            if (i % 50 == 49) {
                // In steps that fit the relay's socket buffer, so that each datagram is counted.
                awaitCount(() -> relay.metrics().totalDrops() + relay.metrics().datagramsForwarded(), i + 1);
            }
        }
        RelayMetrics m = relay.metrics();
        assertEquals(0, m.drops(RelayDropReason.INTERNAL_ERROR));
        assertEquals(2, m.binds(), "no stranger bound");
        assertTrue(m.drops(RelayDropReason.UNKNOWN_SOURCE) > 0 && m.drops(RelayDropReason.BIND_REJECTED) > 0, m.toString());
        while (!a.silentFor(20) || !b.silentFor(20)) {
            // Drains what the pair sent each other among the noise.
        }
        a.send(ea, new byte[] {4, 0, 0, 0, 42});
        assertArrayEquals(new byte[] {4, 0, 0, 0, 42}, b.receive().data());
        b.send(eb, new byte[] {4, 0, 0, 0, 43});
        assertArrayEquals(new byte[] {4, 0, 0, 0, 43}, a.receive().data());
    }

    @Test
    void joinsAnIpv4ClientToAnIpv6Client() throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        boolean hasV6;
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(v6, 0))) {
            hasV6 = true;
        } catch (IOException e) {
            hasV6 = false;
        }
        assumeTrue(hasV6, "needs IPv6 loopback");
        int first = firstPort(10);
        UdpRelay relay = start(Relay.builder().address(LOOPBACK).address(v6).portRange(first, first + 9).clock(clock));
        Peer a = peer();
        Peer b = new Peer(v6);
        toClose.add(b);
        relay.allocate(a.key, b.key, V4);
        AllocationResult rb = relay.allocate(b.key, a.key, StandardProtocolFamily.INET6);
        AllocationResult ra = relay.allocate(a.key, b.key, StandardProtocolFamily.INET6);
        assertEquals(LOOPBACK, ra.endpoint().orElseThrow().getAddress(), "a's side keeps the family a asked with");
        assertEquals(v6, rb.endpoint().orElseThrow().getAddress());
        a.bind(ra);
        b.bind(rb);
        awaitCount(() -> relay.metrics().binds(), 2);
        a.send(ra.endpoint().orElseThrow(), new byte[] {1, 0, 0, 0, 4});
        Peer.Received atB = b.receive();
        assertArrayEquals(new byte[] {1, 0, 0, 0, 4}, atB.data());
        assertEquals(rb.endpoint().orElseThrow(), atB.from());
        b.send(rb.endpoint().orElseThrow(), new byte[] {2, 0, 0, 0, 6});
        assertArrayEquals(new byte[] {2, 0, 0, 0, 6}, a.receive().data());
    }

    @Test
    void closeEndsEveryAllocationAndFreesItsPorts() throws Exception {
        UdpRelay relay = start(builder(10));
        Peer a = peer();
        Peer b = peer();
        AllocationResult[] r = bound(relay, a, b);
        relay.close();
        relay.close();
        assertEquals(0, relay.portsInUse());
        try (DatagramSocket s = new DatagramSocket(r[0].endpoint().orElseThrow())) {
            assertTrue(s.isBound());
        }
        assertThrows(IllegalStateException.class, relay::start);
    }

    @Test
    void builderRefusesWhatCannotWork() throws Exception {
        InetAddress any = InetAddress.getByName("0.0.0.0");
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().build(), "no address");
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().address(any), "wildcard, nothing to tell clients");
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().address(LOOPBACK).address(LOOPBACK));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().address(any, InetAddress.getByName("::1")));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().portRange(5, 5));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().portRange(0, 5));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().portRange(7, 6));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().idleTimeout(Duration.ofMillis(10)));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().idleTimeout(Duration.ofDays(1)));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().bandwidthLimit(0, 10));
        assertThrows(IllegalArgumentException.class, () -> Relay.builder().maxAllocationsPerClient(0));

        Relay wildcard = Relay.builder().address(any, LOOPBACK).portRange(firstPort(4), 31_999).build();
        toClose.add(wildcard);
        wildcard.start();
        Relay foreign = Relay.builder().address(InetAddress.getByName("192.0.2.1")).build();
        toClose.add(foreign);
        IOException e = assertThrows(IOException.class, foreign::start);
        assertTrue(e.getMessage().contains("192.0.2.1"), e.getMessage());
    }
}
