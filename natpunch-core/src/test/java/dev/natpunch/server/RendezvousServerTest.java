package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.client.RendezvousClient;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.UdpTransport;
import dev.natpunch.protocol.Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RendezvousServerTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private RendezvousServer start(RendezvousServer.Builder b) throws IOException {
        RendezvousServer server = b.build();
        toClose.add(server);
        server.start();
        return server;
    }

    private RendezvousServer startDefault() throws IOException {
        return start(RendezvousServer.builder().bindAddress(LOOPBACK).clock(clock).workerThreads(2));
    }

    private RawPeer peer(RendezvousServer server) throws IOException {
        RawPeer p = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(p);
        return p;
    }

    private RendezvousClient client(RendezvousServer server, KeyPair keys) throws IOException {
        UdpTransport transport = UdpTransport.open(new InetSocketAddress(LOOPBACK, server.localAddress().getPort()));
        RendezvousClient c = RendezvousClient.builder(keys, server.publicKey(), transport)
                .responseTimeout(Duration.ofSeconds(3)).build();
        toClose.add(c);
        toClose.add(transport);
        return c;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void lookupFindsARegisteredPeerAndReportsAnUnknownOne() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        RendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).listener(new ServerListener() {
            @Override
            public void onRegistration(Key client, InetSocketAddress endpoint) {
                events.add("reg " + endpoint.getPort());
            }

            @Override
            public void onLookup(Key requester, Key target, Optional<InetSocketAddress> found) {
                events.add("lookup " + found.map(InetSocketAddress::getPort).orElse(-1));
            }
        }));
        RawPeer a = peer(server);
        RawPeer b = peer(server);
        a.handshake(7, 1);
        b.handshake(7, 1);

        Optional<InetSocketAddress> found = b.lookup(a.keys.publicKey());
        assertEquals(Optional.of(new InetSocketAddress(LOOPBACK, a.localPort())), found);
        assertEquals(Optional.empty(), b.lookup(KeyPair.generate().publicKey()));

        ServerMetrics m = server.metrics();
        assertEquals(2, m.handshakesOk());
        assertEquals(1, m.lookupsHit());
        assertEquals(1, m.lookupsMiss());
        assertEquals(2, m.registrations());
        assertEquals(2, m.sessions());
        assertEquals(0, m.totalDrops());
        assertTrue(events.contains("reg " + a.localPort()));
        assertTrue(events.contains("lookup " + a.localPort()));
        assertTrue(events.contains("lookup -1"));
    }

    @Test
    void eachLookupIsLoggedAtInfoInNatpunchGoForm() throws Exception {
        RendezvousServer server = startDefault();
        RawPeer a = peer(server);
        a.handshake(1, 1);
        Key unknown = KeyPair.generate().publicKey();
        java.io.PrintStream originalErr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            a.lookup(a.keys.publicKey());
            a.lookup(unknown);
        } finally {
            System.setErr(originalErr);
        }
        String log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        String self = a.keys.publicKey().toBase64().substring(0, 16);
        assertTrue(log.contains(self + " ==> " + self + ": CONNECTED"), log);
        assertTrue(log.contains(self + " ==> " + unknown.toBase64().substring(0, 16) + ": NOT FOUND"), log);
    }

    @Test
    void assignedIndexIsTheProposalPlusOneOrTheNextFreeOne() throws Exception {
        RendezvousServer server = startDefault();
        assertEquals(1001, peer(server).handshake(1000, 1));
        assertEquals(1002, peer(server).handshake(1000, 1));
        assertEquals(1003, peer(server).handshake(1001, 1));
        assertEquals(0, peer(server).handshake(-1, 1));
        assertEquals(1, peer(server).handshake(-1, 1));
    }

    @Test
    void aNewerHandshakeReplacesTheSessionOfTheSameKey() throws Exception {
        RendezvousServer server = startDefault();
        RawPeer a = peer(server);
        a.handshake(50, 1);
        byte[] oldSessionLookup = a.lookupRequest(a.keys.publicKey(), a.keys.publicKey());
        a.handshake(60, 2);
        assertEquals(61, a.index);
        assertEquals(1, server.metrics().sessions());

        a.setReceiveTimeout(300);
        a.send(oldSessionLookup);
        assertNull(a.receive());
        await(() -> server.metrics().drops(DropReason.UNKNOWN_SESSION) == 1, "the old session's lookup to be dropped");
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
    }

    @Test
    void aReplayedOrOlderHandshakeTimestampIsRejectedEvenAfterTheSessionExpired() throws Exception {
        RendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).clock(clock)
                .sessionTtl(Duration.ofMinutes(6)).registrationTtl(Duration.ofMinutes(30)));
        RawPeer a = peer(server);
        a.setReceiveTimeout(300);
        a.handshake(1, 1_000);
        byte[] captured = a.lastSent;

        a.send(captured);
        assertNull(a.receive(), "a replayed initiation must not be answered");
        a.send(a.initiation(2, 1_000));
        assertNull(a.receive(), "an equal timestamp must not be accepted");
        a.send(a.initiation(3, 999));
        assertNull(a.receive(), "an older timestamp must not be accepted");
        await(() -> server.metrics().drops(DropReason.HANDSHAKE_REPLAY) == 3, "three replay drops");

        clock.advance(Duration.ofMinutes(7));
        ((UdpRendezvousServer) server).sweepNow();
        assertEquals(0, server.metrics().sessions());
        assertEquals(1, server.metrics().registrations());
        a.send(captured);
        assertNull(a.receive(), "the timestamp must outlive the session");

        assertEquals(5, a.handshake(4, 1_001));
        assertEquals(4, server.metrics().handshakesFailed());
    }

    @Test
    void aReplayedLookupIsDroppedAndTheSessionKeepsWorking() throws Exception {
        RendezvousServer server = startDefault();
        RawPeer a = peer(server);
        a.handshake(1, 1);
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
        a.setReceiveTimeout(300);
        a.send(a.lastSent);
        assertNull(a.receive());
        await(() -> server.metrics().drops(DropReason.COUNTER_REPLAY) == 1, "a counter replay drop");
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
    }

    @Test
    void aLookupNamingAnotherKeyAsItsOwnIsDropped() throws Exception {
        RendezvousServer server = startDefault();
        RawPeer a = peer(server);
        a.handshake(1, 1);
        a.setReceiveTimeout(300);
        a.send(a.lookupRequest(KeyPair.generate().publicKey(), a.keys.publicKey()));
        assertNull(a.receive());
        await(() -> server.metrics().drops(DropReason.WRONG_CLIENT_KEY) == 1, "a wrong-key drop");
    }

    @Test
    void aForgedLookupOnAKnownIndexIsDropped() throws Exception {
        RendezvousServer server = startDefault();
        RawPeer a = peer(server);
        a.handshake(1, 1);
        byte[] lookup = a.lookupRequest(a.keys.publicKey(), a.keys.publicKey());
        lookup[40] ^= 1;
        a.setReceiveTimeout(300);
        a.send(lookup);
        assertNull(a.receive());
        await(() -> server.metrics().drops(DropReason.DECRYPTION_FAILED) == 1, "a decryption drop");
    }

    @Test
    void sessionsExpireAfterTheirTtl() throws Exception {
        RendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).clock(clock)
                .sessionTtl(Duration.ofMinutes(6)));
        RawPeer a = peer(server);
        a.handshake(1, 1);
        clock.advance(Duration.ofMinutes(5));
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
        clock.advance(Duration.ofMinutes(1).plusSeconds(1));
        a.setReceiveTimeout(300);
        a.send(a.lookupRequest(a.keys.publicKey(), a.keys.publicKey()));
        assertNull(a.receive());
        await(() -> server.metrics().drops(DropReason.SESSION_EXPIRED) == 1, "a session-expired drop");
        ((UdpRendezvousServer) server).sweepNow();
        assertEquals(0, server.metrics().sessions());
        a.handshake(9, 2);
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
    }

    @Test
    void registrationsExpireAfterTheirTtlWithoutTraffic() throws Exception {
        RendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).clock(clock)
                .registrationTtl(Duration.ofMinutes(2)).sessionTtl(Duration.ofMinutes(10)));
        RawPeer a = peer(server);
        RawPeer b = peer(server);
        a.handshake(1, 1);
        b.handshake(1, 1);
        clock.advance(Duration.ofMinutes(1));
        assertTrue(b.lookup(a.keys.publicKey()).isPresent());
        clock.advance(Duration.ofMinutes(1).plusSeconds(30));
        // b's lookups keep b alive; a has been silent for 2.5 minutes.
        assertEquals(Optional.empty(), b.lookup(a.keys.publicKey()));
        ((UdpRendezvousServer) server).sweepNow();
        assertEquals(1, server.metrics().registrations());
        assertEquals(1, server.metrics().sessions());
    }

    @Test
    void tablesNeverGrowBeyondTheirCaps() throws Exception {
        RendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).clock(clock)
                .maxRegistrations(5).maxSessions(3).sessionTtl(Duration.ofMinutes(6)));
        List<RawPeer> peers = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            RawPeer p = peer(server);
            p.setReceiveTimeout(300);
            peers.add(p);
        }
        // Three clients with sessions that carried lookups fill the session table.
        for (int i = 0; i < 3; i++) {
            peers.get(i).handshake(i * 10, 1);
            assertTrue(peers.get(i).lookup(peers.get(0).keys.publicKey()).isPresent());
        }
        // New keys are refused then, and leave no registration behind...
        for (int i = 3; i < 6; i++) {
            RawPeer p = peers.get(i);
            assertThrows(IOException.class, () -> p.handshake(1, 1), "refused: every session carried requests");
            assertCaps(server);
        }
        ServerMetrics m = server.metrics();
        assertEquals(3, m.drops(DropReason.SESSIONS_FULL), m.drops().toString());
        assertEquals(3, m.registrations());
        // ...but a client with a session replaces its own, and the others keep being served.
        peers.get(0).handshake(7, 2);
        assertTrue(peers.get(0).lookup(peers.get(1).keys.publicKey()).isPresent());
        assertTrue(peers.get(2).lookup(peers.get(1).keys.publicKey()).isPresent());

        // Sessions expire before registrations: five keys fill the registrations.
        clock.advance(Duration.ofMinutes(7));
        ((UdpRendezvousServer) server).sweepNow();
        assertEquals(0, server.metrics().sessions());
        for (int i = 3; i < 5; i++) {
            peers.get(i).handshake(1, 2);
            assertTrue(peers.get(i).lookup(peers.get(0).keys.publicKey()).isPresent());
        }
        assertThrows(IOException.class, () -> peers.get(5).handshake(1, 2));
        assertEquals(1, server.metrics().drops(DropReason.REGISTRATIONS_FULL));
        assertCaps(server);

        // A full session table evicts the oldest session that carried no request yet; its key,
        // which has sent requests before, stays registered.
        peers.get(1).handshake(1, 3);
        peers.get(2).handshake(1, 3);
        m = server.metrics();
        assertEquals(1, m.sessionsEvicted(), m.toString());
        assertEquals(3, m.sessions());
        assertEquals(5, m.registrations());
        assertTrue(peers.get(3).lookup(peers.get(1).keys.publicKey()).isPresent(),
                "the key of the evicted session is still found");
        assertTrue(peers.get(2).lookup(peers.get(3).keys.publicKey()).isPresent());
    }

    private static void assertCaps(RendezvousServer server) {
        ServerMetrics m = server.metrics();
        assertTrue(m.registrations() <= 5, m.toString());
        assertTrue(m.sessions() <= 3, m.toString());
    }

    @Test
    void malformedDatagramsAreDroppedAndCountedAndTheServerKeepsServing() throws Exception {
        RendezvousServer server = startDefault();
        long sent = 0;
        try (DatagramChannel attacker = DatagramChannel.open()) {
            java.util.Random random = new java.util.Random(42);
            int[] types = {0, 1, 2, 3, 4, 255};
            for (int type : types) {
                for (int len = 0; len <= 200; len++) {
                    byte[] d = new byte[len];
                    random.nextBytes(d);
                    if (len > 0) {
                        d[0] = (byte) type;
                    }
                    attacker.send(ByteBuffer.wrap(d), server.localAddress());
                    sent++;
                    if (sent % 50 == 0) {
                        long expect = sent;
                        await(() -> server.metrics().totalDrops() == expect, "drops to catch up");
                    }
                }
            }
            for (int i = 0; i < 500; i++) {
                byte[] d = new byte[random.nextInt(300)];
                random.nextBytes(d);
                attacker.send(ByteBuffer.wrap(d), server.localAddress());
                sent++;
                if (sent % 50 == 0) {
                    long expect = sent;
                    await(() -> server.metrics().totalDrops() == expect, "drops to catch up");
                }
            }
        }
        long expect = sent;
        await(() -> server.metrics().totalDrops() == expect, "every malformed datagram to be counted");
        ServerMetrics m = server.metrics();
        assertTrue(m.drops(DropReason.EMPTY) >= 6);
        assertTrue(m.drops(DropReason.UNKNOWN_TYPE) > 0);
        assertTrue(m.drops(DropReason.WRONG_DIRECTION) > 0);
        assertTrue(m.drops(DropReason.TOO_SHORT) > 0);
        assertTrue(m.drops(DropReason.TOO_LONG) > 0);
        assertTrue(m.drops(DropReason.HANDSHAKE_INVALID) >= 1);
        assertTrue(m.drops(DropReason.UNKNOWN_SESSION) >= 1);
        assertEquals(0, m.drops(DropReason.INTERNAL_ERROR));

        // The random 110- to 200-byte type 1 datagrams have the lengths of a version 2 message 1,
        // so they went through the handshake rate limit and used up loopback's tokens: let them refill.
        clock.advance(Duration.ofSeconds(5));
        RawPeer a = peer(server);
        a.handshake(1, 1);
        assertTrue(a.lookup(a.keys.publicKey()).isPresent());
    }

    @Test
    void fiftyConcurrentClientsAllRegisterAndFindEachOther() throws Exception {
        // 60 clients handshaking at once from one address (127.0.0.1) exceed one source's burst.
        RendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).workerThreads(4)
                .handshakeRateLimit(0, 0));
        int n = 60;
        List<KeyPair> keys = new ArrayList<>();
        List<RendezvousClient> clients = new ArrayList<>();
        List<UdpTransport> transports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            keys.add(KeyPair.generate());
            UdpTransport t = UdpTransport.open(new InetSocketAddress(LOOPBACK, server.localAddress().getPort()));
            toClose.add(t);
            transports.add(t);
            RendezvousClient c = RendezvousClient.builder(keys.get(i), server.publicKey(), t)
                    .responseTimeout(Duration.ofSeconds(5)).build();
            toClose.add(c);
            clients.add(c);
        }
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        runAll(n, i -> clients.get(i).handshake(), failures);
        runAll(n, i -> {
            for (int k = 1; k <= 3; k++) {
                int j = (i + k) % n;
                Optional<InetSocketAddress> found = clients.get(i).lookup(keys.get(j).publicKey());
                InetSocketAddress expected = transports.get(j).localAddress();
                if (!found.equals(Optional.of(new InetSocketAddress(LOOPBACK, expected.getPort())))) {
                    throw new AssertionError("client " + i + " got " + found + " for client " + j);
                }
            }
        }, failures);
        assertTrue(failures.isEmpty(), () -> failures.toString());
        ServerMetrics m = server.metrics();
        assertEquals(n, m.handshakesOk());
        assertEquals(3L * n, m.lookupsHit());
        assertEquals(n, m.registrations());
        assertEquals(n, m.sessions());
    }

    private interface IoTask {
        void run(int i) throws Exception;
    }

    private static void runAll(int n, IoTask task, List<Throwable> failures) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            Thread t = new Thread(() -> {
                try {
                    task.run(id);
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    @Test
    void closeIsPromptIdempotentAndLeavesNoThreads() throws Exception {
        try (RendezvousServer warmUp = RendezvousServer.builder().bindAddress(LOOPBACK).build()) {
            warmUp.start();
        }
        java.util.Set<Thread> before = new java.util.HashSet<>(Thread.getAllStackTraces().keySet());
        RendezvousServer server = RendezvousServer.builder().bindAddress(LOOPBACK).workerThreads(4).build();
        server.start();
        RawPeer a = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        a.handshake(1, 1);
        a.close();
        long t0 = System.nanoTime();
        server.close();
        long elapsedMillis = (System.nanoTime() - t0) / 1_000_000;
        server.close();
        assertTrue(elapsedMillis < 1000, "close took " + elapsedMillis + " ms");
        java.util.Set<Thread> after = new java.util.HashSet<>(Thread.getAllStackTraces().keySet());
        after.removeAll(before);
        after.removeIf(t -> !t.isAlive());
        assertTrue(after.isEmpty(), "threads left behind: " + after);
        assertThrows(IllegalStateException.class, server::start);
    }

    @Test
    void aPortInUseGivesAnErrorNamingThePortAndTheRemedy() throws Exception {
        try (DatagramChannel squatter = DatagramChannel.open()) {
            squatter.bind(new InetSocketAddress(LOOPBACK, 0));
            int port = ((InetSocketAddress) squatter.getLocalAddress()).getPort();
            RendezvousServer server = RendezvousServer.builder().bindAddress(LOOPBACK).port(port).build();
            toClose.add(server);
            IOException e = assertThrows(IOException.class, server::start);
            assertTrue(e.getMessage().contains("UDP port " + port), e.getMessage());
            assertTrue(e.getMessage().contains("choose a different port"), e.getMessage());
        }
    }

    @Test
    void aDualStackServerTreatsIpv4ClientsAsIpv4() throws Exception {
        RendezvousServer server = start(RendezvousServer.builder());
        InetSocketAddress target = new InetSocketAddress(LOOPBACK, server.localAddress().getPort());
        RawPeer a = new RawPeer(KeyPair.generate(), server.publicKey(), target);
        toClose.add(a);
        a.handshake(1, 1);
        assertEquals(Optional.of(new InetSocketAddress(LOOPBACK, a.localPort())), a.lookup(a.keys.publicKey()));
    }

    @Test
    void ipv4MappedSourcesBecomeIpv4AndIpv6OnesAreNotAnswerable() throws Exception {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = (byte) 198;
        mapped[13] = 18;
        mapped[14] = 0;
        mapped[15] = 7;
        InetSocketAddress source = new InetSocketAddress(java.net.Inet6Address.getByAddress(null, mapped, -1), 51820);
        long packed = Endpoint.pack4(source);
        assertEquals(0xC6120007, Endpoint.ip4(packed));
        assertEquals(51820, Endpoint.port4(packed));
        assertEquals(new InetSocketAddress("198.18.0.7", 51820), Endpoint.address4(packed));
        Endpoint e = Endpoint.of(source);
        assertEquals(InetAddress.getByName("198.18.0.7"), e.address.getAddress());
        assertEquals(dev.natpunch.protocol.v2.WireEndpoint.FAMILY_IPV4, dev.natpunch.protocol.v2.WireEndpoint.family(e.wire, 0));

        InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("2001:db8::1"), 1);
        assertEquals(0, Endpoint.pack4(v6));
        assertEquals(dev.natpunch.protocol.v2.WireEndpoint.FAMILY_IPV6,
                dev.natpunch.protocol.v2.WireEndpoint.family(Endpoint.of(v6).wire, 0));
    }

    @Test
    void aPeerRegisteredOverIpv6IsNotFound() throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        try (DatagramChannel probe = DatagramChannel.open()) {
            probe.bind(new InetSocketAddress(v6, 0));
        } catch (IOException unavailable) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no IPv6 loopback on this machine");
        }
        RendezvousServer server = start(RendezvousServer.builder());
        int port = server.localAddress().getPort();
        RawPeer a6 = new RawPeer(KeyPair.generate(), server.publicKey(), new InetSocketAddress(v6, port));
        toClose.add(a6);
        a6.handshake(1, 1);
        RawPeer b = new RawPeer(KeyPair.generate(), server.publicKey(), new InetSocketAddress(LOOPBACK, port));
        toClose.add(b);
        b.handshake(1, 1);
        assertEquals(Optional.empty(), b.lookup(a6.keys.publicKey()));
        assertEquals(1, server.metrics().lookupsMiss());
    }

    @Test
    void theHandlerSurvivesRandomInputWithoutAnswering() {
        InternalPacketHandler handler = InternalPacketHandler.create(KeyPair.generate(), clock);
        java.util.Random random = new java.util.Random(7);
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        InetSocketAddress source = new InetSocketAddress(LOOPBACK, 9);
        for (int i = 0; i < 20_000; i++) {
            byte[] d = new byte[random.nextInt(200)];
            random.nextBytes(d);
            if (d.length > 0 && i % 2 == 0) {
                d[0] = (byte) (1 + random.nextInt(3));
            }
            assertEquals(-1, handler.handle(d, 0, d.length, source, out, 0));
        }
        assertEquals(20_000, handler.metrics().totalDrops());
        assertEquals(0, handler.metrics().drops(DropReason.INTERNAL_ERROR));
    }

    @Test
    void theHandlerDropsEveryTypeByteAtEveryLengthUpTo200() throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        InternalPacketHandler handler = InternalPacketHandler.create(serverKeys, clock);
        java.util.Random random = new java.util.Random(11);
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        InetSocketAddress source = new InetSocketAddress(LOOPBACK, 9);
        for (int type = 0; type < 256; type++) {
            for (int len = 0; len <= 200; len++) {
                byte[] d = new byte[len + 5];
                random.nextBytes(d);
                d[5 % d.length] = (byte) type;
                assertEquals(-1, handler.handle(d, 5, len, source, out, 0), "type " + type + " length " + len);
            }
        }
        ServerMetrics m = handler.metrics();
        assertEquals(256 * 201, m.totalDrops());
        assertEquals(256, m.drops(DropReason.EMPTY));
        // Type 1 of 109 to 200 bytes (message 1 with or without a capability block) does not authenticate.
        assertEquals(1 + 91, m.drops(DropReason.HANDSHAKE_INVALID));
        // Type 3 of 93 bytes and type 4 (sealed) of 36 to 200 bytes name no session.
        assertEquals(1 + 165, m.drops(DropReason.UNKNOWN_SESSION));
        // Types 2 and 5 only flow from server to client.
        assertEquals(2 * 200, m.drops(DropReason.WRONG_DIRECTION));
        assertEquals(251 * 200, m.drops(DropReason.UNKNOWN_TYPE));
        assertEquals(108 + 92 + 35, m.drops(DropReason.TOO_SHORT));
        assertEquals(107, m.drops(DropReason.TOO_LONG));
        assertEquals(0, m.drops(DropReason.INTERNAL_ERROR));

        // Still serving: a real handshake goes through the same handler.
        dev.natpunch.crypto.NoiseHandshake hs = dev.natpunch.crypto.NoiseHandshake.initiator(KeyPair.generate(),
                serverKeys.publicKey(), dev.natpunch.crypto.NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] init = new byte[Wire.INITIATION_LENGTH];
        dev.natpunch.protocol.HandshakeInitiation.encode(hs, 5, 1, new byte[8], init, 0);
        assertEquals(Wire.RESPONSE_LENGTH, handler.handle(init, 0, init.length, source, out, 0));
        assertEquals(6, dev.natpunch.protocol.HandshakeResponse.assignedIndex(out, 0));
    }

    @Test
    void builderRejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> RendezvousServer.builder().port(70000));
        assertThrows(IllegalArgumentException.class, () -> RendezvousServer.builder().maxSessions(0));
        assertThrows(IllegalArgumentException.class, () -> RendezvousServer.builder().sessionTtl(Duration.ZERO));
        assertThrows(IllegalStateException.class, () -> RendezvousServer.builder().build().localAddress());
        assertNotNull(RendezvousServer.builder().build().publicKey());
    }
}
