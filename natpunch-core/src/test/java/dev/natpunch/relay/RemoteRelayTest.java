package dev.natpunch.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.Wire;
import dev.natpunch.relay.AllocationResult.Status;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The relay on another host: a {@link RemoteRelay} (the server's end) and a {@link
 * RelayControlServer} (the relay's end) over real UDP on loopback, with a real relay forwarding.
 * Waits are bounds for a hung test, never expectations of speed.
 */
class RemoteRelayTest {
    private static final StandardProtocolFamily V4 = StandardProtocolFamily.INET;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration BOUND = Duration.ofSeconds(15);

    private final KeyPair serverKeys = KeyPair.generate();
    private final KeyPair relayKeys = KeyPair.generate();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T c) {
        toClose.add(c);
        return c;
    }

    private UdpRelay relay(Relay.Builder settings) throws IOException {
        int first = ThreadLocalRandom.current().nextInt(10_000, 31_000);
        UdpRelay r = closing((UdpRelay) settings.address(LOOPBACK).portRange(first, first + 19).workerThreads(1).build());
        r.start();
        return r;
    }

    private UdpRelayControlServer control(Relay relay, int port) throws IOException {
        UdpRelayControlServer c = closing((UdpRelayControlServer) RelayControlServer.builder().relay(relay)
                .keyPair(relayKeys).listen(new InetSocketAddress(LOOPBACK, port)).allowServer(serverKeys.publicKey())
                .build());
        c.start();
        return c;
    }

    private RemoteRelay remote(InetSocketAddress at, KeyPair keys, int perClient) throws IOException {
        RemoteRelay r = closing(RemoteRelay.builder().relay(at, relayKeys.publicKey()).keyPair(keys)
                .maxEntriesPerClient(perClient).build());
        r.start();
        return r;
    }

    /** A relay, its control port and a connected remote end. */
    private RemoteRelay connected(Relay.Builder settings) throws Exception {
        UdpRelayControlServer c = control(relay(settings), 0);
        RemoteRelay r = remote(c.localAddress(), serverKeys, 64);
        await(r::isConnected, "the remote end connects");
        return r;
    }

    private Peer peer() throws IOException {
        return closing(new Peer(LOOPBACK));
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + BOUND.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out: " + what);
            Thread.sleep(20);
        }
    }

    /** Asks as a client does, every 300 ms, until the answer has {@code status}. */
    private static AllocationResult askUntil(Supplier<AllocationResult> ask, Status status) throws InterruptedException {
        long deadline = System.nanoTime() + BOUND.toNanos();
        while (true) {
            AllocationResult r = ask.get();
            if (r.status() == status) {
                return r;
            }
            assertTrue(System.nanoTime() < deadline, "still " + r + ", waiting for " + status);
            Thread.sleep(300);
        }
    }

    private static Key key() {
        return KeyPair.generate().publicKey();
    }

    @Test
    void aPairGetsReadyThroughTheControlChannelAndTheRelayForwards() throws Exception {
        RemoteRelay remote = connected(Relay.builder());
        Peer a = peer();
        Peer b = peer();
        assertEquals(Status.PENDING, remote.allocate(a.key, b.key, V4).status(), "the first answer never waits for the relay");
        AllocationResult rb = askUntil(() -> remote.allocate(b.key, a.key, V4), Status.READY);
        AllocationResult ra = askUntil(() -> remote.allocate(a.key, b.key, V4), Status.READY);
        assertEquals(ra.endpoint(), remote.endpointFacing(a.key, b.key));
        assertEquals(rb.endpoint(), remote.endpointFacing(b.key, a.key));

        a.bind(ra);
        b.bind(rb);
        byte[] data = "wireguard ciphertext".getBytes(StandardCharsets.US_ASCII);
        long deadline = System.nanoTime() + BOUND.toNanos();
        // The binds are not acknowledged: send until the relay has learned both sides.
        do {
            assertTrue(System.nanoTime() < deadline, "nothing forwarded");
            a.send(ra.endpoint().orElseThrow(), data);
        } while (b.silentFor(100));
        a.send(ra.endpoint().orElseThrow(), data);
        Peer.Received got = b.receive();
        assertArrayEquals(data, got.data());
        assertEquals(rb.endpoint().orElseThrow(), got.from());
    }

    @Test
    void aReadyTokenIsHandedOutOnceThenAFreshOneAfterABindSoThatAMovedClientRebinds() throws Exception {
        RemoteRelay remote = connected(Relay.builder());
        Peer a = peer();
        Peer b = peer();
        remote.allocate(a.key, b.key, V4);
        AllocationResult rb = askUntil(() -> remote.allocate(b.key, a.key, V4), Status.READY);
        AllocationResult ra = askUntil(() -> remote.allocate(a.key, b.key, V4), Status.READY);

        // Asked again without a bind (the answer was lost): PENDING, then the same, unused token.
        assertEquals(Status.PENDING, remote.allocate(a.key, b.key, V4).status());
        AllocationResult again = askUntil(() -> remote.allocate(a.key, b.key, V4), Status.READY);
        assertArrayEquals(ra.token(), again.token());

        a.bind(again);
        b.bind(rb);
        // a moves: its old address goes quiet, and the used token is worth nothing from the new one.
        Peer moved = peer();
        moved.bind(ra.endpoint().orElseThrow(), ra.token());
        byte[] data = {4, 0, 0, 0, 1, 2, 3};
        moved.send(ra.endpoint().orElseThrow(), data);
        assertTrue(b.silentFor(300), "a used token does not bind a new address");

        AllocationResult fresh = askUntil(() -> remote.allocate(a.key, b.key, V4), Status.READY);
        assertFalse(java.util.Arrays.equals(ra.token(), fresh.token()), "a fresh token after the bind");
        moved.bind(fresh);
        long deadline = System.nanoTime() + BOUND.toNanos();
        do {
            assertTrue(System.nanoTime() < deadline, "the moved client's traffic is not forwarded");
            moved.send(fresh.endpoint().orElseThrow(), data);
        } while (b.silentFor(100));
    }

    @Test
    void releaseEndsThePairAtTheRelayAndIdleAllocationsEndThereAndHereToo() throws Exception {
        UdpRelay relay = relay(Relay.builder().idleTimeout(Duration.ofSeconds(1)));
        UdpRelayControlServer control = control(relay, 0);
        RemoteRelay remote = remote(control.localAddress(), serverKeys, 64);
        await(remote::isConnected, "connected");
        Key a = key();
        Key b = key();
        remote.allocate(a, b, V4);
        askUntil(() -> remote.allocate(b, a, V4), Status.READY);
        assertEquals(1, relay.metrics().allocations());
        remote.release(b, a);
        assertTrue(remote.endpointFacing(b, a).isEmpty(), "forgotten here at once");
        await(() -> relay.metrics().allocations() == 0, "the relay releases the pair");

        // Idle expiry on the relay is told to the server, which then shows no relay endpoint.
        remote.allocate(a, b, V4);
        askUntil(() -> remote.allocate(b, a, V4), Status.READY);
        askUntil(() -> remote.allocate(a, b, V4), Status.READY);
        assertTrue(remote.endpointFacing(a, b).isPresent());
        await(() -> relay.metrics().allocationsExpired() == 1, "the idle allocation expires");
        await(() -> remote.endpointFacing(a, b).isEmpty() && remote.endpointFacing(b, a).isEmpty(),
                "the server hears of the expiry");
        assertEquals(0, relay.portsInUse());
    }

    @Test
    void theRelaysCapsAndTheServersOwnBoundsGiveUnavailable() throws Exception {
        UdpRelayControlServer control = control(relay(Relay.builder().maxAllocationsPerClient(1)), 0);
        RemoteRelay remote = remote(control.localAddress(), serverKeys, 3);
        await(remote::isConnected, "connected");
        Key a = key();
        Key b = key();
        remote.allocate(a, b, V4);
        askUntil(() -> remote.allocate(b, a, V4), Status.READY);
        Key d = key();
        askUntil(() -> remote.allocate(a, d, V4), Status.UNAVAILABLE);

        // Three sides per client here: the fourth is refused without asking the relay.
        Key c = key();
        for (int i = 0; i < 3; i++) {
            remote.allocate(c, key(), V4);
        }
        assertEquals(Status.UNAVAILABLE, remote.allocate(c, key(), V4).status());
        assertEquals(Status.UNAVAILABLE, remote.allocate(c, c, V4).status(), "never with itself");

        // And so many sides in all.
        RemoteRelay small = closing(RemoteRelay.builder().relay(control.localAddress(), relayKeys.publicKey())
                .keyPair(serverKeys).maxEntries(2).build());
        small.start();
        await(small::isConnected, "connected");
        assertEquals(Status.PENDING, small.allocate(key(), key(), V4).status());
        assertEquals(Status.PENDING, small.allocate(key(), key(), V4).status());
        assertEquals(Status.UNAVAILABLE, small.allocate(key(), key(), V4).status());
    }

    @Test
    void anUnlistedServerGetsNoSessionAndUnavailable() throws Exception {
        UdpRelayControlServer control = control(relay(Relay.builder()), 0);
        RemoteRelay stranger = remote(control.localAddress(), KeyPair.generate(), 64);
        Thread.sleep(1500);
        assertFalse(stranger.isConnected());
        assertEquals(0, control.sessions());
        assertEquals(Status.UNAVAILABLE, stranger.allocate(key(), key(), V4).status());
    }

    @Test
    void rendezvousHandshakesAndReplayedOnesGetNoAnswer() throws Exception {
        UdpRelayControlServer control = control(relay(Relay.builder()), 0);
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            s.setSoTimeout(500);
            // A client of the rendezvous protocol, with an allowed key even: another prologue, no session.
            byte[] client = initiation(NoiseHandshake.NATPUNCH_PROLOGUE);
            s.send(new DatagramPacket(client, client.length, control.localAddress()));
            assertNull(receive(s));
            byte[] m1 = initiation(ControlWire.PROLOGUE);
            s.send(new DatagramPacket(m1, m1.length, control.localAddress()));
            byte[] m2 = receive(s);
            assertEquals(Wire.RESPONSE_LENGTH, m2 == null ? -1 : m2.length);
            s.send(new DatagramPacket(m1, m1.length, control.localAddress()));
            assertNull(receive(s), "a replayed message 1 is ignored");
            // Garbage of every length on the control port changes nothing.
            Random random = new Random(8);
            for (int i = 0; i < 2000; i++) {
                byte[] g = new byte[random.nextInt(300)];
                random.nextBytes(g);
                if (g.length > 0) {
                    g[0] = (byte) random.nextInt(7);
                }
                s.send(new DatagramPacket(g, g.length, control.localAddress()));
            }
            assertNull(receive(s));
            assertEquals(1, control.sessions());
        }
        RemoteRelay remote = remote(control.localAddress(), serverKeys, 64);
        await(remote::isConnected, "a real server still connects");
        assertEquals(1, control.sessions(), "one session per server key");
    }

    private byte[] initiation(byte[] prologue) {
        NoiseHandshake hs = NoiseHandshake.initiator(serverKeys, relayKeys.publicKey(), prologue);
        byte[] m = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, 7, System.currentTimeMillis() * 1_000_000L, new byte[8], m, 0);
        return m;
    }

    private static byte[] receive(DatagramSocket s) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        try {
            s.receive(p);
            return java.util.Arrays.copyOf(p.getData(), p.getLength());
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    private static void assertNull(byte[] d) {
        assertNull(d, "no answer expected");
    }

    private static void assertNull(byte[] d, String message) {
        assertTrue(d == null, message + ", got " + (d == null ? 0 : d.length) + " bytes");
    }

    @Test
    void aRelayThatGoesAwayGivesUnavailableAndTheServerRecoversWhenItIsBack() throws Exception {
        UdpRelay relay = relay(Relay.builder());
        UdpRelayControlServer control = control(relay, 0);
        int port = control.localAddress().getPort();
        RemoteRelay remote = remote(control.localAddress(), serverKeys, 64);
        await(remote::isConnected, "connected");
        Key a = key();
        Key b = key();
        remote.allocate(a, b, V4);
        askUntil(() -> remote.allocate(b, a, V4), Status.READY);

        control.close();
        await(() -> !remote.isConnected(), "the server notices the relay is gone");
        assertEquals(Status.UNAVAILABLE, remote.allocate(a, b, V4).status());
        assertTrue(remote.endpointFacing(b, a).isEmpty());

        control(relay, port);
        await(remote::isConnected, "the server reconnects");
        // The relay kept the pair through the outage of its control port.
        askUntil(() -> remote.allocate(a, b, V4), Status.READY);
    }

    @Test
    void buildersRefuseWhatCannotWork() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> RelayControlServer.builder().keyPair(relayKeys)
                .allowServer(serverKeys.publicKey()).build());
        UdpRelay relay = relay(Relay.builder());
        assertThrows(IllegalArgumentException.class, () -> RelayControlServer.builder().relay(relay)
                .keyPair(relayKeys).build(), "no server allowed");
        assertThrows(IllegalArgumentException.class, () -> RemoteRelay.builder().keyPair(serverKeys).build());
        assertThrows(IllegalArgumentException.class, () -> RemoteRelay.builder()
                .relay(new InetSocketAddress(LOOPBACK, 0), relayKeys.publicKey()));
        assertThrows(IllegalArgumentException.class, () -> RemoteRelay.builder().maxEntries(1));
    }
}
