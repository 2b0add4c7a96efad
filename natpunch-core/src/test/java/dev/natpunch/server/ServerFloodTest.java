package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.client.RendezvousClient;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Wire;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Floods on loopback (127.0.0.0/8 is all local, so the test can send from many addresses):
 * legitimate clients keep being served, the tables stay within their caps, nothing is answered
 * with more bytes than it carried, and every kind of hostile datagram is dropped and counted.
 * Bounded in datagrams and time; speed is measured and logged, never asserted.
 */
class ServerFloodTest {
    private static final Logger log = LoggerFactory.getLogger(ServerFloodTest.class);
    private static final InetAddress LOOPBACK = address("127.0.0.1");
    private static final int LEGIT_CLIENTS = 20;
    private static final int ROUNDS = 15;
    private static final int LOOKUPS_PER_ROUND = 3;
    private static final int CAP = 400;
    /** More fresh keys than the tables hold, so that the flood fills them. */
    private static final int FLOOD_KEYS = 600;
    private static final int FLOOD_ADDRESSES = 16;
    /**
     * Offered flood rate, datagrams per second. Unpaced, one thread offers up to 100,000 per second
     * on a 2-core machine, more than the server takes off its socket when other builds share the
     * cores: the kernel then drops datagrams from the full receive buffer, legitimate ones as well,
     * which no per-source limit can prevent (see docs/SECURITY.md). The test holds a rate the server
     * absorbs even on a loaded machine, so that its success-rate bound does not flake.
     */
    private static final int FLOOD_RATE = 5000;
    private static final long FLOOD_MAX_DATAGRAMS = 1_000_000;
    private static final Duration FLOOD_MAX_TIME = Duration.ofSeconds(90);

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        Collections.reverse(toClose);
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client's path to the server from a chosen loopback address, remembering what it last sent. */
    private static final class CapturingTransport implements DatagramTransport {
        final DatagramSocket socket;
        final InetSocketAddress server;
        volatile byte[] lastSent;

        CapturingTransport(InetAddress local, InetSocketAddress server) throws IOException {
            this.socket = new DatagramSocket(new InetSocketAddress(local, 0));
            this.server = server;
        }

        @Override
        public InetSocketAddress server() {
            return server;
        }

        @Override
        public void send(ByteBuffer datagram) throws IOException {
            byte[] d = new byte[datagram.remaining()];
            datagram.get(d);
            socket.send(new DatagramPacket(d, d.length, server));
            lastSent = d;
        }

        @Override
        public int receive(ByteBuffer dst, Duration timeout) throws IOException {
            byte[] buf = new byte[2048];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            try {
                socket.receive(p);
            } catch (SocketTimeoutException e) {
                return -1;
            }
            int n = Math.min(p.getLength(), dst.remaining());
            dst.put(buf, 0, n);
            return n;
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    private record Captured(byte[] datagram, long sentNanos) {
    }

    /** What the flood sends; each kind from its own sockets, so that any answer is attributable. */
    private enum Kind { FRESH_KEY_HANDSHAKE, JUNK_HANDSHAKE, UNKNOWN_INDEX_LOOKUP, OVERSIZED, UNDERSIZED, REPLAY }

    private static boolean canBind(String address) {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(address, 0))) {
            return true;
        } catch (IOException e) {
            failures.add(e.getClass().getSimpleName() + ": " + e.getMessage());
            return false;
        }
    }

    @Test
    void legitimateClientsKeepBeingServedDuringAHandshakeFlood() throws Exception {
        Assumptions.assumeTrue(canBind("127.0.1.1") && canBind("127.0.2.1"),
                "this system does not route all of 127.0.0.0/8 to loopback");
        UdpRendezvousServer server = (UdpRendezvousServer) RendezvousServer.builder().bindAddress(LOOPBACK)
                .workerThreads(2).maxRegistrations(CAP).maxSessions(CAP).build();
        toClose.add(server);
        server.start();
        InetSocketAddress serverAt = server.localAddress();

        ConcurrentLinkedQueue<Captured> captured = new ConcurrentLinkedQueue<>();
        List<KeyPair> keys = new ArrayList<>();
        List<CapturingTransport> transports = new ArrayList<>();
        List<RendezvousClient> clients = new ArrayList<>();
        for (int i = 0; i < LEGIT_CLIENTS; i++) {
            keys.add(KeyPair.generate());
            CapturingTransport t = new CapturingTransport(address("127.0.1." + (i + 1)), serverAt);
            transports.add(t);
            RendezvousClient c = RendezvousClient.builder(keys.get(i), server.publicKey(), t)
                    .responseTimeout(Duration.ofSeconds(2)).build();
            toClose.add(c);
            clients.add(c);
            c.handshake();
        }

        // The flood's material, made before it starts so that sending is as fast as it can be.
        List<byte[]> freshKeyHandshakes = new ArrayList<>();
        for (int i = 0; i < FLOOD_KEYS; i++) {
            NoiseHandshake hs = NoiseHandshake.initiator(KeyPair.generate(), server.publicKey(),
                    NoiseHandshake.NATPUNCH_PROLOGUE);
            byte[] m1 = new byte[Wire.INITIATION_LENGTH];
            HandshakeInitiation.encode(hs, i, 1, new byte[8], m1, 0);
            freshKeyHandshakes.add(m1);
        }
        Kind[] kinds = Kind.values();
        DatagramSocket[][] floodSockets = new DatagramSocket[kinds.length][FLOOD_ADDRESSES];
        for (Kind k : kinds) {
            for (int a = 0; a < FLOOD_ADDRESSES; a++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress(address("127.0.2." + (a + 1)), 0));
                toClose.add(s);
                floodSockets[k.ordinal()][a] = s;
            }
        }
        long[] sentByKind = new long[kinds.length];
        long[] bytesSentByKind = new long[kinds.length];
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong floodSent = new AtomicLong();
        List<Captured> replayable = new ArrayList<>();
        Thread flood = new Thread(() -> {
            SplittableRandom rnd = new SplittableRandom(7);
            long deadline = System.nanoTime() + FLOOD_MAX_TIME.toNanos();
            int fresh = 0;
            DatagramPacket p = new DatagramPacket(new byte[0], 0, serverAt);
            long start = System.nanoTime();
            try {
                for (long n = 0; n < FLOOD_MAX_DATAGRAMS && !stop.get() && System.nanoTime() < deadline; n++) {
                    if (n % 50 == 0) {
                        long due = start + n * 1_000_000_000L / FLOOD_RATE;
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            pause(wait / 1_000_000, (int) (wait % 1_000_000));
                        }
                    }
                    Kind k = kinds[(int) (n % kinds.length)];
                    byte[] d;
                    switch (k) {
                        case FRESH_KEY_HANDSHAKE:
                            d = freshKeyHandshakes.get(fresh++ % freshKeyHandshakes.size());
                            break;
                        case JUNK_HANDSHAKE:
                            d = random(rnd, Wire.INITIATION_LENGTH, Wire.TYPE_HANDSHAKE_INITIATION);
                            break;
                        case UNKNOWN_INDEX_LOOKUP:
                            d = random(rnd, Wire.LOOKUP_REQUEST_LENGTH, Wire.TYPE_DATA);
                            break;
                        case OVERSIZED:
                            d = random(rnd, Wire.INITIATION_LENGTH + 1 + rnd.nextInt(1300),
                                    rnd.nextBoolean() ? Wire.TYPE_HANDSHAKE_INITIATION : Wire.TYPE_DATA);
                            break;
                        case UNDERSIZED:
                            d = random(rnd, 1 + rnd.nextInt(Wire.LOOKUP_REQUEST_LENGTH - 1),
                                    rnd.nextBoolean() ? Wire.TYPE_HANDSHAKE_INITIATION : Wire.TYPE_DATA);
                            break;
                        default:
                            d = replayOld(captured, replayable, rnd);
                            if (d == null) {
                                continue;
                            }
                            break;
                    }
                    p.setData(d);
                    floodSockets[k.ordinal()][rnd.nextInt(FLOOD_ADDRESSES)].send(p);
                    sentByKind[k.ordinal()]++;
                    bytesSentByKind[k.ordinal()] += d.length;
                    floodSent.incrementAndGet();
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "nph-flood");

        long[] ok = new long[LEGIT_CLIENTS];
        long[] tried = new long[LEGIT_CLIENTS];
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        failures.clear();
        List<Thread> legit = new ArrayList<>();
        for (int i = 0; i < LEGIT_CLIENTS; i++) {
            int me = i;
            legit.add(new Thread(() -> {
                SplittableRandom rnd = new SplittableRandom(100 + me);
                for (int r = 0; r < ROUNDS; r++) {
                    tried[me]++;
                    if (timed(latencies, () -> {
                        clients.get(me).handshake();
                        return true;
                    })) {
                        ok[me]++;
                        processed(captured, transports.get(me));
                    }
                    for (int l = 0; l < LOOKUPS_PER_ROUND; l++) {
                        int peer = rnd.nextInt(LEGIT_CLIENTS);
                        InetSocketAddress expected = new InetSocketAddress(address("127.0.1." + (peer + 1)),
                                transports.get(peer).socket.getLocalPort());
                        tried[me]++;
                        if (timed(latencies, () -> {
                            Optional<InetSocketAddress> got = clients.get(me).lookup(keys.get(peer).publicKey());
                            if (!got.equals(Optional.of(expected))) {
                                failures.add("wrong answer " + got + ", expected " + expected);
                                return false;
                            }
                            return true;
                        })) {
                            ok[me]++;
                            processed(captured, transports.get(me));
                        }
                    }
                    pause(100);
                }
            }, "nph-legit-" + i));
        }
        long t0 = System.nanoTime();
        flood.start();
        pause(300);
        legit.forEach(Thread::start);
        for (Thread t : legit) {
            t.join();
        }
        stop.set(true);
        flood.join();
        double seconds = (System.nanoTime() - t0) / 1e9;

        long okSum = Arrays.stream(ok).sum();
        long triedSum = Arrays.stream(tried).sum();
        double successRate = (double) okSum / triedSum;
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        ServerMetrics m = server.metrics();
        log.info("Flood: {} datagrams in {} s ({} per second; by kind {}); legitimate operations {}/{} = {}%,"
                        + " latency p50 {} ms, p99 {} ms, max {} ms; server {}; drops {}",
                floodSent.get(), String.format("%.1f", seconds), Math.round(floodSent.get() / seconds),
                Arrays.toString(sentByKind), okSum, triedSum, String.format("%.1f", 100 * successRate),
                millis(sorted, 0.5), millis(sorted, 0.99), millis(sorted, 1.0), m, m.drops());

        Map<String, Long> why = failures.stream().collect(Collectors.groupingBy(f -> f.replaceAll("[0-9.:/]+", "#"),
                TreeMap::new, Collectors.counting()));
        log.info("Legitimate failures by kind: {}", why);
        assertTrue(successRate >= 0.90, "legitimate success rate " + successRate + "; failures " + why);
        PacketHandler h = server.handler();
        assertTrue(h.registry.size() <= CAP && h.sessions.size() <= CAP, m.toString());
        assertTrue(h.limiter.size() <= h.limiter.maxSources());
        assertEquals(0, m.drops(DropReason.INTERNAL_ERROR));
        assertTrue(m.drops(DropReason.RATE_LIMITED) > 0, "the flood was never rate limited: " + m.drops());
        assertTrue(m.sessionsEvicted() > 0, "the flood never filled the session table: " + m);
        for (DropReason r : new DropReason[] {DropReason.HANDSHAKE_INVALID, DropReason.UNKNOWN_SESSION,
            DropReason.TOO_LONG, DropReason.TOO_SHORT}) {
            assertTrue(m.drops(r) > 0, r + " never counted: " + m.drops());
        }
        assertTrue(m.drops(DropReason.HANDSHAKE_REPLAY) + m.drops(DropReason.COUNTER_REPLAY) > 0);

        // Only fresh-key handshakes may be answered, with 53 bytes to 109: no other kind, ever.
        for (Kind k : kinds) {
            long answers = 0;
            for (DatagramSocket s : floodSockets[k.ordinal()]) {
                s.setSoTimeout(1);
                DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
                while (true) {
                    try {
                        s.receive(p);
                    } catch (SocketTimeoutException e) {
                        break;
                    }
                    answers++;
                    assertTrue(k == Kind.FRESH_KEY_HANDSHAKE, k + " was answered");
                    assertEquals(Wire.RESPONSE_LENGTH, p.getLength());
                }
            }
            log.info("{}: sent {} datagrams, {} bytes; got {} answers", k, sentByKind[k.ordinal()],
                    bytesSentByKind[k.ordinal()], answers);
        }
    }

    @Test
    void hostileDatagramsAreDroppedCountedAndNeverAnswered() throws Exception {
        UdpRendezvousServer server = (UdpRendezvousServer) RendezvousServer.builder().bindAddress(LOOPBACK)
                .workerThreads(2).build();
        toClose.add(server);
        server.start();
        RawPeer a = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(a);
        RawPeer attacker = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(attacker);
        attacker.setReceiveTimeout(200);

        a.handshake(5, 1000);
        byte[] handshake = a.lastSent;
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
        byte[] lookup = a.lastSent;
        SplittableRandom rnd = new SplittableRandom(3);
        List<byte[]> hostile = new ArrayList<>();
        hostile.add(handshake);
        hostile.add(lookup);
        for (int i = 0; i < 10; i++) {
            hostile.add(random(rnd, Wire.LOOKUP_REQUEST_LENGTH, Wire.TYPE_DATA));
            hostile.add(random(rnd, 200 + i, Wire.TYPE_HANDSHAKE_INITIATION));
            hostile.add(random(rnd, 94 + i, Wire.TYPE_DATA));
            hostile.add(random(rnd, 1 + i, Wire.TYPE_DATA));
            hostile.add(random(rnd, 108 - i, Wire.TYPE_HANDSHAKE_INITIATION));
        }
        hostile.add(new byte[0]);
        for (byte[] d : hostile) {
            attacker.send(d);
        }
        // Each is dropped: wait until all are counted (no timing assertion, only a generous bound).
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        ServerMetrics m = server.metrics();
        while (m.totalDrops() < hostile.size() && System.nanoTime() < deadline) {
            pause(20);
            m = server.metrics();
        }
        assertEquals(1, m.drops(DropReason.HANDSHAKE_REPLAY), m.drops().toString());
        assertEquals(1, m.drops(DropReason.COUNTER_REPLAY));
        assertEquals(10, m.drops(DropReason.UNKNOWN_SESSION));
        // The 200- to 209-byte type 1 datagrams have message 1 lengths of version 2: they fail to authenticate.
        assertEquals(10, m.drops(DropReason.TOO_LONG));
        assertEquals(10, m.drops(DropReason.HANDSHAKE_INVALID));
        assertEquals(20, m.drops(DropReason.TOO_SHORT));
        assertEquals(1, m.drops(DropReason.EMPTY));
        assertEquals(hostile.size(), m.totalDrops());
        assertNull(attacker.receive(), "a hostile datagram was answered");
        // The replays moved nothing: the client is still registered where it really is.
        Optional<InetSocketAddress> self = a.lookup(a.keys.publicKey());
        assertNotNull(self);
        assertEquals(a.localPort(), self.orElseThrow().getPort());
    }

    /**
     * Pins a property of protocol v1 (natpunch-go does the same): the server cannot tell a lookup
     * it never received from a fresh one, whatever address it comes from, and a lookup moves its
     * sender's registration to that address (how clients roam). An on-path attacker who holds back
     * a client's datagram and sends it from its own address redirects the client's registration
     * until the client's next datagram arrives. Replays of datagrams the server has seen are dropped.
     */
    @Test
    void aLookupTheServerNeverSawMovesTheRegistrationWhereverItComesFrom() throws Exception {
        UdpRendezvousServer server = (UdpRendezvousServer) RendezvousServer.builder().bindAddress(LOOPBACK).build();
        toClose.add(server);
        server.start();
        RawPeer victim = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(victim);
        RawPeer attacker = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(attacker);
        attacker.handshake(9, 1);
        victim.handshake(5, 1);
        byte[] heldBack = victim.lookupRequest(victim.keys.publicKey(), victim.keys.publicKey());
        attacker.send(heldBack);
        assertNotNull(attacker.receive(), "answered, to the attacker's address (it cannot read the answer)");
        assertEquals(attacker.localPort(), attacker.lookup(victim.keys.publicKey()).orElseThrow().getPort(),
                "the victim is now registered at the attacker's address");
        attacker.send(heldBack);
        assertNull(attacker.receive(), "a second copy is a replay");
        assertEquals(victim.localPort(), victim.lookup(victim.keys.publicKey()).orElseThrow().getPort(),
                "the victim's next datagram moves it back");
    }

    /**
     * Pins a property of protocol v1: the last accepted handshake timestamp lives as long as the
     * registration, so once a client's registration has expired, a captured message 1 of that
     * client is accepted again, from any address (message 1 carries no server nonce, and client
     * clocks are too unreliable to judge the timestamp's age).
     */
    @Test
    void aCapturedHandshakeIsAcceptedAgainOnceTheRegistrationExpired() throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
        PacketHandler h = new PacketHandler(ServerConfigs.forTest(serverKeys, clock, 10, 10, 0, 0));
        InetSocketAddress client = new InetSocketAddress(address("198.18.0.1"), 4000);
        InetSocketAddress attacker = new InetSocketAddress(address("198.18.0.66"), 6666);
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        byte[] m1 = initiation(KeyPair.generate(), serverKeys, 5);
        assertEquals(Wire.RESPONSE_LENGTH, handle(h, m1, client, out, scratch));
        assertEquals(-1, handle(h, m1, attacker, out, scratch), "a replay while the registration lives");
        clock.advance(RendezvousServer.DEFAULT_REGISTRATION_TTL.plusSeconds(1));
        h.sweep();
        assertEquals(0, h.registry.size());
        assertEquals(Wire.RESPONSE_LENGTH, handle(h, m1, attacker, out, scratch),
                "accepted again after expiry: the attacker's address is now registered for the client's key");
    }

    /**
     * A flood of handshakes from random keys fills the session table with sessions that never
     * carry a request: they are evicted, oldest first, with their keys' registrations, so known
     * clients keep re-handshaking and looking up, a new client still gets in, and the tables stay
     * at their caps.
     */
    @Test
    void aHandshakeFloodFromRandomKeysLocksNoClientOut() throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        PacketHandler h = new PacketHandler(ServerConfigs.forTest(serverKeys,
                new MutableClock(Instant.parse("2026-11-25T12:00:00Z")), 50, 10, 0, 0));
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        Client a = new Client(h, scratch, new InetSocketAddress(address("198.18.0.1"), 4001));
        Client b = new Client(h, scratch, new InetSocketAddress(address("198.18.0.2"), 4002));
        a.handshake(1);
        b.handshake(1);
        assertEquals(b.at, a.lookup(b.keys.publicKey()));
        assertEquals(a.at, b.lookup(a.keys.publicKey()));

        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        InetSocketAddress flooder = new InetSocketAddress(address("198.18.0.66"), 6666);
        for (int i = 0; i < 200; i++) {
            assertEquals(Wire.RESPONSE_LENGTH, handle(h, initiation(KeyPair.generate(), serverKeys, 1), flooder, out,
                    scratch), "flood handshake " + i + " was refused: " + h.metrics().drops());
            assertTrue(h.sessions.size() <= 10 && h.registry.size() <= 10, h.metrics().toString());
        }
        ServerMetrics m = h.metrics();
        assertEquals(192, m.sessionsEvicted(), m.toString());
        assertEquals(0, m.drops(DropReason.SESSIONS_FULL));

        a.handshake(2);
        assertEquals(b.at, a.lookup(b.keys.publicKey()), "a known client re-handshakes and looks up during the flood");
        assertEquals(a.at, b.lookup(a.keys.publicKey()), "and one that did not re-handshake keeps its session");
        Client c = new Client(h, scratch, new InetSocketAddress(address("198.18.0.3"), 4003));
        c.handshake(1);
        assertEquals(a.at, c.lookup(a.keys.publicKey()), "a new client gets in by evicting a flood session");
        assertEquals(10, h.sessions.size());
        assertEquals(10, h.registry.size(), "the evicted flood keys' registrations went with their sessions");
    }

    /**
     * Handshake threads racing for room in a full table: the room one thread makes by evicting is
     * its own, so no new key is refused while there are sessions to evict.
     */
    @Test
    void concurrentHandshakesAtAFullTableAreNeverRefused() throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        PacketHandler h = new PacketHandler(ServerConfigs.forTest(serverKeys,
                new MutableClock(Instant.parse("2026-11-25T12:00:00Z")), 1000, 8, 0, 0));
        List<byte[]> initiations = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            initiations.add(initiation(KeyPair.generate(), serverKeys, 1));
        }
        InetSocketAddress from = new InetSocketAddress(address("198.18.0.66"), 6666);
        ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int first = t;
            threads.add(new Thread(() -> {
                PacketHandler.Scratch scratch = new PacketHandler.Scratch();
                byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
                for (int i = first; i < initiations.size(); i += 4) {
                    if (handle(h, initiations.get(i), from, out, scratch) != Wire.RESPONSE_LENGTH) {
                        refused.add("handshake " + i);
                    }
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        ServerMetrics m = h.metrics();
        assertTrue(refused.isEmpty(), refused + " " + m.drops());
        assertEquals(392, m.sessionsEvicted(), m.toString());
        assertEquals(8, h.sessions.size());
        assertEquals(8, h.registry.size());
    }

    /**
     * When every session in a full table has carried requests, a new key is refused (and leaves
     * no registration behind), but a client with a session still replaces its own.
     */
    @Test
    void aTableFullOfUsedSessionsRefusesNewKeysButNotKnownOnes() throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        PacketHandler h = new PacketHandler(ServerConfigs.forTest(serverKeys,
                new MutableClock(Instant.parse("2026-11-25T12:00:00Z")), 10, 2, 0, 0));
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        Client a = new Client(h, scratch, new InetSocketAddress(address("198.18.0.1"), 4001));
        Client b = new Client(h, scratch, new InetSocketAddress(address("198.18.0.2"), 4002));
        a.handshake(1);
        b.handshake(1);
        a.lookup(b.keys.publicKey());
        b.lookup(a.keys.publicKey());
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        assertEquals(-1, handle(h, initiation(KeyPair.generate(), serverKeys, 1),
                new InetSocketAddress(address("198.18.0.3"), 4003), out, scratch));
        assertEquals(1, h.metrics().drops(DropReason.SESSIONS_FULL));
        assertEquals(2, h.registry.size(), "the refused key is not left registered");
        a.handshake(2);
        assertEquals(b.at, a.lookup(b.keys.publicKey()));
        assertEquals(2, h.sessions.size());
        assertEquals(0, h.metrics().sessionsEvicted());
    }

    /** A version 1 client driven against a handler directly. */
    private static final class Client {
        final PacketHandler h;
        final PacketHandler.Scratch scratch;
        final InetSocketAddress at;
        final KeyPair keys = KeyPair.generate();
        final byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        TransportKeys session;
        int index;
        long counter;

        Client(PacketHandler h, PacketHandler.Scratch scratch, InetSocketAddress at) {
            this.h = h;
            this.scratch = scratch;
            this.at = at;
        }

        void handshake(long timestamp) throws Exception {
            NoiseHandshake hs = NoiseHandshake.initiator(keys, h.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
            byte[] m1 = new byte[Wire.INITIATION_LENGTH];
            HandshakeInitiation.encode(hs, 1, timestamp, new byte[8], m1, 0);
            assertEquals(Wire.RESPONSE_LENGTH, handle(h, m1, at, out, scratch), h.metrics().drops().toString());
            HandshakeResponse.read(hs, out, 0, new byte[8]);
            index = HandshakeResponse.assignedIndex(out, 0);
            session = hs.split();
            counter = 0;
        }

        /** The peer's endpoint as the server answers, or null for "not found". */
        InetSocketAddress lookup(dev.natpunch.crypto.Key peer) throws Exception {
            byte[] d = new byte[Wire.LOOKUP_REQUEST_LENGTH];
            LookupRequest.encode(session.sender(), index, counter++, keys.publicKey(), peer,
                    new byte[Wire.LOOKUP_PLAINTEXT_LENGTH], d, 0);
            int n = handle(h, d, at, out, scratch);
            assertTrue(n > 0, "lookup dropped: " + h.metrics().drops());
            byte[] plain = new byte[6];
            int len = LookupResponse.open(session.receiver(), out, 0, n, plain);
            if (len == 0) {
                return null;
            }
            return new InetSocketAddress(InetAddress.getByAddress(Arrays.copyOf(plain, 4)),
                    (plain[4] & 0xff) << 8 | plain[5] & 0xff);
        }
    }

    private static int handle(PacketHandler h, byte[] d, InetSocketAddress from, byte[] out, PacketHandler.Scratch s) {
        return h.handle(d, 0, d.length, from, out, 0, s);
    }

    private static byte[] initiation(KeyPair client, KeyPair server, long timestamp) {
        NoiseHandshake hs = NoiseHandshake.initiator(client, server.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, 1, timestamp, new byte[8], m1, 0);
        return m1;
    }

    private static byte[] random(SplittableRandom rnd, int length, byte type) {
        byte[] d = new byte[length];
        rnd.nextBytes(d);
        d[0] = type;
        return d;
    }

    /**
     * Offers a legitimate client's last datagram for replay once it got its answer, so the server
     * has certainly processed it. (A datagram the server never received, lost or held back, is not
     * a replay to the server: protocol v1 accepts it from any address, see docs/SECURITY.md and
     * {@link #aLookupTheServerNeverSawMovesTheRegistrationWhereverItComesFrom}.)
     */
    private static void processed(ConcurrentLinkedQueue<Captured> captured, CapturingTransport t) {
        captured.add(new Captured(t.lastSent, System.nanoTime()));
    }

    /** A processed legitimate datagram, answered at least 200 ms ago. */
    private static byte[] replayOld(ConcurrentLinkedQueue<Captured> captured, List<Captured> replayable,
                                    SplittableRandom rnd) {
        long old = System.nanoTime() - 200_000_000L;
        for (Captured c = captured.peek(); c != null && c.sentNanos() < old; c = captured.peek()) {
            replayable.add(captured.poll());
        }
        return replayable.isEmpty() ? null : replayable.get(rnd.nextInt(replayable.size())).datagram();
    }

    private interface Operation {
        boolean run() throws IOException;
    }

    private static final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();

    private static boolean timed(ConcurrentLinkedQueue<Long> latencies, Operation op) {
        long start = System.nanoTime();
        try {
            boolean ok = op.run();
            latencies.add(System.nanoTime() - start);
            return ok;
        } catch (IOException e) {
            failures.add(e.getClass().getSimpleName() + ": " + e.getMessage());
            return false;
        }
    }

    private static String millis(List<Long> sorted, double quantile) {
        if (sorted.isEmpty()) {
            return "-";
        }
        int i = (int) Math.min(sorted.size() - 1, Math.ceil(quantile * sorted.size()) - 1);
        return String.format("%.2f", sorted.get(Math.max(0, i)) / 1e6);
    }

    private static void pause(long millis) {
        pause(millis, 0);
    }

    private static void pause(long millis, int nanos) {
        try {
            Thread.sleep(millis, nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
