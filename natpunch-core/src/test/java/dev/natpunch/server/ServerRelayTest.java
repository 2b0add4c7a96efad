package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.ErrorMessage;
import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import dev.natpunch.relay.Relay;
import dev.natpunch.relay.RelayMetrics;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * RELAY over real UDP on loopback: {@link V2Peer}s ask the server, which answers from an embedded
 * {@link Relay}; then sockets standing in for WireGuard bind with the tokens they got and talk
 * through the relay ports.
 */
class ServerRelayTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Capabilities OFFER_ALL = Capabilities.offer(2, V2Wire.FEATURES_V2);
    /** 5.4: RELAY is padded so that a READY answer fits. */
    private static final int RELAY_PAD = 74;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private Relay relay;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private RendezvousServer server(boolean withRelay) throws IOException {
        return server(withRelay, RendezvousServer.builder());
    }

    private RendezvousServer server(boolean withRelay, RendezvousServer.Builder b) throws IOException {
        b.bindAddress(LOOPBACK).clock(clock).workerThreads(2);
        if (withRelay) {
            int first = ThreadLocalRandom.current().nextInt(10_000, 31_000);
            relay = Relay.builder().address(LOOPBACK).portRange(first, first + 19)
                    .idleTimeout(Duration.ofSeconds(80)).pendingLifetime(Duration.ofSeconds(20)).build();
            toClose.add(relay);
            relay.start();
            b.relay(relay);
        }
        RendezvousServer s = b.build();
        toClose.add(s);
        s.start();
        return s;
    }

    private V2Peer peer(RendezvousServer server) throws IOException {
        V2Peer p = new V2Peer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(p);
        assertNotNull(p.handshake(1, System.nanoTime(), OFFER_ALL));
        return p;
    }

    private DatagramSocket socket() throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        s.setSoTimeout(5000);
        toClose.add(s);
        return s;
    }

    private static byte[] relayRequest(V2Peer from, int op, Key peer, int padTo) throws IOException {
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = RelayControl.writeRequest(plain, 0, 77, op, peer);
        return from.request(plain, n, padTo);
    }

    @Test
    void offersRelayOnlyWithARelay() throws Exception {
        RendezvousServer plain = server(false);
        V2Peer p = peer(plain);
        assertEquals(0, p.answer.features() & V2Wire.FEATURE_RELAY);
        byte[] answer = relayRequest(p, RelayControl.OP_ALLOCATE, KeyPair.generate().publicKey(), RELAY_PAD);
        assertEquals(V2Wire.KIND_ERROR, Sealed.kind(answer, 0));
        assertEquals(ErrorMessage.UNSUPPORTED, ErrorMessage.code(answer, 0));

        RendezvousServer withRelay = server(true);
        assertEquals(V2Wire.FEATURE_RELAY, peer(withRelay).answer.features() & V2Wire.FEATURE_RELAY);
    }

    @Test
    void bothAskingGivesEachItsRelayPortAndTokenAndTheyTalkThroughIt() throws Exception {
        RendezvousServer server = server(true);
        V2Peer a = peer(server);
        V2Peer b = peer(server);
        Key ka = a.keys.publicKey();
        Key kb = b.keys.publicKey();

        byte[] pending = relayRequest(a, RelayControl.OP_ALLOCATE, kb, RELAY_PAD);
        assertEquals(V2Wire.KIND_RELAY_RESULT, Sealed.kind(pending, 0));
        assertEquals(77, Sealed.id(pending, 0));
        assertEquals(RelayControl.STATUS_PENDING, RelayControl.status(pending, 0));
        assertEquals(20, RelayControl.lifetimeSeconds(pending, 0));

        byte[] readyB = relayRequest(b, RelayControl.OP_ALLOCATE, ka, RELAY_PAD);
        byte[] readyA = relayRequest(a, RelayControl.OP_ALLOCATE, kb, RELAY_PAD);
        for (byte[] r : List.of(readyA, readyB)) {
            assertEquals(RelayControl.STATUS_READY, RelayControl.status(r, 0));
            assertEquals(80, RelayControl.lifetimeSeconds(r, 0));
        }
        WireEndpoint ea = WireEndpoint.read(readyA, RelayControl.relayEndpointOffset(0));
        WireEndpoint eb = WireEndpoint.read(readyB, RelayControl.relayEndpointOffset(0));
        assertEquals(WireEndpoint.Kind.RELAY, ea.kind());
        assertEquals(LOOPBACK, ea.address());
        assertTrue(ea.port() != eb.port() && ea.port() != server.localAddress().getPort());

        DatagramSocket wgA = socket();
        DatagramSocket wgB = socket();
        InetSocketAddress toA = new InetSocketAddress(ea.address(), ea.port());
        InetSocketAddress toB = new InetSocketAddress(eb.address(), eb.port());
        send(wgA, toA, bind(readyA));
        send(wgB, toB, bind(readyB));
        await(() -> relay.metrics().binds() == 2);
        byte[] handshake = new byte[148];
        ThreadLocalRandom.current().nextBytes(handshake);
        handshake[0] = 1;
        send(wgA, toA, handshake);
        DatagramPacket got = receive(wgB);
        assertArrayEquals(handshake, Arrays.copyOf(got.getData(), got.getLength()));
        assertEquals(toB, got.getSocketAddress());

        await(() -> relay.metrics().datagramsForwarded() == 1);
        byte[] released = relayRequest(b, RelayControl.OP_RELEASE, ka, RELAY_PAD);
        assertEquals(RelayControl.STATUS_RELEASED, RelayControl.status(released, 0));
        RelayMetrics m = relay.metrics();
        assertEquals(0, m.allocations());
        assertEquals(1, m.datagramsForwarded());
    }

    @Test
    void aReadyPairShowsEachSideItsOwnRelayPortInLookupsThatAskForRelays() throws Exception {
        RendezvousServer server = server(true);
        V2Peer a = peer(server);
        V2Peer b = peer(server);
        Key kb = b.keys.publicKey();
        int want = V2Wire.WANT_IPV4 | V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_RELAY;
        assertEquals(List.of(WireEndpoint.Kind.SERVER_REFLEXIVE), kinds(lookup(a, kb, want)), "no pair yet");

        relayRequest(a, RelayControl.OP_ALLOCATE, kb, RELAY_PAD);
        byte[] readyB = relayRequest(b, RelayControl.OP_ALLOCATE, a.keys.publicKey(), RELAY_PAD);
        byte[] readyA = relayRequest(a, RelayControl.OP_ALLOCATE, kb, RELAY_PAD);
        List<WireEndpoint> seenByA = lookup(a, kb, want);
        assertEquals(List.of(WireEndpoint.Kind.SERVER_REFLEXIVE, WireEndpoint.Kind.RELAY), kinds(seenByA), "relay last");
        assertEquals(WireEndpoint.read(readyA, RelayControl.relayEndpointOffset(0)), seenByA.get(1), "the port facing a");
        List<WireEndpoint> seenByB = lookup(b, a.keys.publicKey(), want);
        assertEquals(WireEndpoint.read(readyB, RelayControl.relayEndpointOffset(0)), seenByB.get(1), "the port facing b");
        assertEquals(List.of(WireEndpoint.Kind.SERVER_REFLEXIVE),
                kinds(lookup(a, kb, want & ~V2Wire.WANT_RELAY)), "only when asked for");
        assertEquals(List.of(WireEndpoint.Kind.SERVER_REFLEXIVE),
                kinds(lookup(peer(server), kb, want)), "a third client sees no relay port of the pair");
    }

    @Test
    void thePeerWaitingInPendingIsPushedItsRelayPortWhenThePairIsMade() throws Exception {
        RendezvousServer server = server(true);
        V2Peer a = peer(server);
        V2Peer b = peer(server);
        Key kb = b.keys.publicKey();
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Subscription.writeRequest(plain, 0, 3, Subscription.OP_REPLACE,
                V2Wire.WANT_IPV4 | V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_RELAY, new Key[] {kb}, 0, 1);
        assertEquals(V2Wire.KIND_SUBSCRIBE_RESULT, Sealed.kind(a.request(plain, n, V2Wire.MAX_DATAGRAM), 0));
        // Padded to the full size: until a's address is validated by an ack, a push is no longer
        // than a's last datagram (6.3).
        assertEquals(RelayControl.STATUS_PENDING,
                RelayControl.status(relayRequest(a, RelayControl.OP_ALLOCATE, kb, V2Wire.MAX_DATAGRAM), 0));

        relayRequest(b, RelayControl.OP_ALLOCATE, a.keys.publicKey(), RELAY_PAD);
        byte[] push = a.open(a.receive());
        assertNotNull(push, "no push");
        assertEquals(V2Wire.KIND_PUSH_UPDATE, Sealed.kind(push, 0));
        int e = Push.firstEntry(0);
        assertTrue(kb.equalsBytes(push, Push.entryKeyOffset(e)));
        WireEndpoint last = WireEndpoint.read(push, Push.entryEndpoint(e, Push.entryEndpointCount(push, e) - 1));
        assertEquals(WireEndpoint.Kind.RELAY, last.kind());
        assertEquals(new InetSocketAddress(last.address(), last.port()), relay.endpointFacing(a.keys.publicKey(), kb).orElseThrow());
    }

    @Test
    void aPeerThatMayNotBeSeenGetsThePendingAnswerOfOneThatHasNotAskedAndNoAllocation() throws Exception {
        KeyPair hidden = KeyPair.generate();
        AllowList allow = AllowList.of(List.of());
        RendezvousServer server = server(true, RendezvousServer.builder().allowList(allow));
        V2Peer a = new V2Peer(KeyPair.generate(), server.publicKey(), server.localAddress());
        V2Peer b = new V2Peer(hidden, server.publicKey(), server.localAddress());
        toClose.add(a);
        toClose.add(b);
        allow.replace(java.util.Set.of(a.keys.publicKey(), b.keys.publicKey()));
        assertNotNull(a.handshake(1, System.nanoTime(), OFFER_ALL));
        assertNotNull(b.handshake(1, System.nanoTime(), OFFER_ALL));
        byte[] unasked = relayRequest(a, RelayControl.OP_ALLOCATE, b.keys.publicKey(), RELAY_PAD);
        relay.release(a.keys.publicKey(), b.keys.publicKey());
        allow.replace(java.util.Set.of(a.keys.publicKey()));
        byte[] denied = relayRequest(a, RelayControl.OP_ALLOCATE, b.keys.publicKey(), RELAY_PAD);
        assertArrayEquals(unasked, denied, "denied looks exactly like a peer that has not asked");
        assertEquals(0, relay.metrics().pending(), "and never reached the relay");
        assertEquals(V2Wire.KIND_RELAY_RESULT, Sealed.kind(
                relayRequest(b, RelayControl.OP_ALLOCATE, a.keys.publicKey(), RELAY_PAD), 0));
        assertEquals(0, relay.metrics().allocations(), "b, no longer allowed, cannot complete the pair");
        byte[] unknown = relayRequest(a, RelayControl.OP_ALLOCATE, KeyPair.generate().publicKey(), RELAY_PAD);
        assertArrayEquals(unasked, unknown, "an unknown key gets the same answer");
    }

    @Test
    void aPeerThatRegistersAfterTheFirstRequestCompletesThePairWithItsOwn() throws Exception {
        RendezvousServer server = server(true);
        V2Peer a = peer(server);
        V2Peer b = new V2Peer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(b);
        assertEquals(RelayControl.STATUS_PENDING,
                RelayControl.status(relayRequest(a, RelayControl.OP_ALLOCATE, b.keys.publicKey(), RELAY_PAD), 0));
        assertNotNull(b.handshake(1, System.nanoTime(), OFFER_ALL));
        assertEquals(RelayControl.STATUS_READY,
                RelayControl.status(relayRequest(b, RelayControl.OP_ALLOCATE, a.keys.publicKey(), RELAY_PAD), 0));
    }

    @Test
    void inMutualModeThePairIsMadeOnceBothHaveAskedForEachOther() throws Exception {
        RendezvousServer server = server(true, RendezvousServer.builder().mutual(true));
        V2Peer a = peer(server);
        V2Peer b = peer(server);
        Key ka = a.keys.publicKey();
        Key kb = b.keys.publicKey();
        assertEquals(RelayControl.STATUS_PENDING, RelayControl.status(relayRequest(a, RelayControl.OP_ALLOCATE, kb, RELAY_PAD), 0));
        assertEquals(RelayControl.STATUS_PENDING, RelayControl.status(relayRequest(b, RelayControl.OP_ALLOCATE, ka, RELAY_PAD), 0));
        assertEquals(RelayControl.STATUS_READY, RelayControl.status(relayRequest(a, RelayControl.OP_ALLOCATE, kb, RELAY_PAD), 0),
                "a's repeat, now that each has asked for the other");
        assertEquals(RelayControl.STATUS_READY, RelayControl.status(relayRequest(b, RelayControl.OP_ALLOCATE, ka, RELAY_PAD), 0));
    }

    /** The endpoints of a one-key LOOKUP's only entry (none when the key is not found). */
    private static List<WireEndpoint> lookup(V2Peer from, Key peer, int want) throws IOException {
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = BatchLookup.writeRequest(plain, 0, 5, want, new Key[] {peer}, 0, 1);
        byte[] result = from.request(plain, n, V2Wire.MAX_DATAGRAM);
        List<WireEndpoint> out = new ArrayList<>();
        for (int e = BatchLookup.firstEntry(0); e < BatchLookup.entriesEnd(result, 0); e = BatchLookup.nextEntry(result, e)) {
            for (int i = 0; i < BatchLookup.entryEndpointCount(result, e); i++) {
                out.add(WireEndpoint.read(result, BatchLookup.entryEndpoint(e, i)));
            }
        }
        return out;
    }

    private static List<WireEndpoint.Kind> kinds(List<WireEndpoint> endpoints) {
        return endpoints.stream().map(WireEndpoint::kind).toList();
    }

    @Test
    void anUnpaddedAllocateGetsNoReadyAnswerLongerThanItself() throws Exception {
        RendezvousServer server = server(true);
        V2Peer a = peer(server);
        V2Peer b = peer(server);
        relayRequest(a, RelayControl.OP_ALLOCATE, b.keys.publicKey(), RELAY_PAD);
        b.setReceiveTimeout(300);
        assertNull(relayRequest(b, RelayControl.OP_ALLOCATE, a.keys.publicKey(), 0),
                "a 69-byte request cannot carry a 74-byte answer");
        await(() -> server.metrics().drops(DropReason.ANSWER_TOO_LONG) == 1);
        assertEquals(1, relay.metrics().allocations(), "the allocation was made all the same");
    }

    private static byte[] bind(byte[] ready) {
        byte[] d = new byte[V2Wire.RELAY_BIND_LENGTH];
        RelayControl.writeBind(d, 0, ready, RelayControl.tokenOffset(0));
        return d;
    }

    private static void send(DatagramSocket s, InetSocketAddress to, byte[] d) throws IOException {
        s.send(new DatagramPacket(d, d.length, to));
    }

    private static DatagramPacket receive(DatagramSocket s) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        s.receive(p);
        return p;
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(2);
        }
    }
}
