package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.ErrorMessage;
import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.Registration;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.ServerInfo;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The server speaking protocol version 2 over real UDP on loopback, driven by {@link V2Peer}
 * (the real codecs and Noise) and, for the version 1 side, {@link RawPeer}.
 */
class V2ServerTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Capabilities OFFER_ALL = Capabilities.offer(2, V2Wire.FEATURES_V2);
    private static final int WANT_V4_V6_SRFLX_LOCAL = V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6
            | V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_LOCAL;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private UdpRendezvousServer start(RendezvousServer.Builder b) throws IOException {
        UdpRendezvousServer server = (UdpRendezvousServer) b.clock(clock).workerThreads(2).build();
        toClose.add(server);
        server.start();
        return server;
    }

    private UdpRendezvousServer startLoopback() throws IOException {
        return start(RendezvousServer.builder().bindAddress(LOOPBACK));
    }

    private V2Peer peer(RendezvousServer server) throws IOException {
        return peer(server, server.localAddress());
    }

    private V2Peer peer(RendezvousServer server, InetSocketAddress to) throws IOException {
        V2Peer p = new V2Peer(KeyPair.generate(), server.publicKey(), to);
        toClose.add(p);
        return p;
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

    /** Waits until the server counted one more drop of {@code reason}, then checks nothing was sent. */
    private static void assertDroppedUnanswered(RendezvousServer server, V2Peer p, DropReason reason, long before)
            throws Exception {
        await(() -> server.metrics().drops(reason) > before, reason + " to be counted");
        p.setReceiveTimeout(100);
        assertNull(p.receive(), "a dropped request was answered");
        p.setReceiveTimeout(2000);
    }

    private static byte[] lookupPlain(int id, int want, Key... keys) {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        int n = BatchLookup.writeRequest(p, 0, id, want, keys, 0, keys.length);
        return java.util.Arrays.copyOf(p, n);
    }

    private static byte[] registerPlain(int id, boolean replace, List<WireEndpoint> candidates) {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Registration.writeRequest(p, 0, id, replace, candidates);
        return java.util.Arrays.copyOf(p, n);
    }

    private static WireEndpoint local(String address, int port) throws IOException {
        return new WireEndpoint(WireEndpoint.Kind.LOCAL, InetAddress.getByName(address), port);
    }

    private static WireEndpoint srflx(InetSocketAddress a) {
        return new WireEndpoint(WireEndpoint.Kind.SERVER_REFLEXIVE, a.getAddress(), a.getPort());
    }

    /** The endpoints of the entry for request position {@code position}, or null when not found. */
    private static List<WireEndpoint> entry(byte[] result, int position) {
        for (int e = BatchLookup.firstEntry(0); e < BatchLookup.entriesEnd(result, 0); e = BatchLookup.nextEntry(result, e)) {
            if (BatchLookup.entryPosition(result, e) == position) {
                List<WireEndpoint> out = new ArrayList<>();
                for (int i = 0; i < BatchLookup.entryEndpointCount(result, e); i++) {
                    out.add(WireEndpoint.read(result, BatchLookup.entryEndpoint(e, i)));
                }
                return out;
            }
        }
        return null;
    }

    private static int entryVersion(byte[] result, int position) {
        for (int e = BatchLookup.firstEntry(0); e < BatchLookup.entriesEnd(result, 0); e = BatchLookup.nextEntry(result, e)) {
            if (BatchLookup.entryPosition(result, e) == position) {
                return BatchLookup.entryVersion(result, e);
            }
        }
        throw new AssertionError("no entry at position " + position);
    }

    // ---- negotiation ----

    @Test
    void aVersion2OfferGetsTheServersBlockAndEveryOtherClientTheVersion1Answer() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer v2 = peer(server);
        Capabilities answer = v2.handshake(1, 1, Capabilities.offer(7, V2Wire.FEATURES_V2 | 1L << 40));
        assertNotNull(answer);
        assertEquals(2, answer.version(), "the lower of the two versions");
        assertEquals(server.handler().serverFeatures() & V2Wire.FEATURES_V2, answer.features(),
                "offered AND implemented; unknown bits drop out");
        assertEquals(V2Wire.FEATURE_BATCH_LOOKUP | V2Wire.FEATURE_PUSH | V2Wire.FEATURE_DUAL_STACK | V2Wire.FEATURE_CANDIDATES,
                answer.features());
        assertEquals(srflx(v2.localAddress()), answer.observedEndpoint());
        assertEquals(RendezvousServer.DEFAULT_SESSION_TTL.toSeconds(), answer.sessionLifetimeSeconds());
        assertTrue(v2.lastResponseLength <= v2.lastSent.length, "message 2 never longer than message 1");
        assertEquals(Wire.RESPONSE_LENGTH + answer.encodedLength(), v2.lastResponseLength);
        assertEquals(2, v2.index, "first free index above the proposal, as in version 1");

        // A plain 109-byte message 1 (natpunch-go's client): the 53-byte answer, empty payload.
        V2Peer plain = peer(server);
        assertNull(plain.handshake(1, 1, null));
        assertEquals(Wire.INITIATION_LENGTH, plain.lastSent.length);
        assertEquals(Wire.RESPONSE_LENGTH, plain.lastResponseLength);

        // Blocks that fail the checks: answered as version 1 and counted.
        byte[][] bad = {
            {V2Wire.TLV_PAD, 0},                               // VERSION missing
            {V2Wire.TLV_VERSION, 1, 1},                        // version 1 offered
            {V2Wire.TLV_VERSION, 1, 2, V2Wire.TLV_VERSION, 1, 2}, // duplicate
            {V2Wire.TLV_VERSION, 2, 2, 0},                     // wrong length
            {V2Wire.TLV_VERSION, 1},                           // truncated
            {0x42},                                            // natpunch-go ignores trailing garbage: so do we
        };
        for (byte[] block : bad) {
            V2Peer p = peer(server);
            assertNull(p.handshakeWithBlock(1, 1, block));
            assertEquals(Wire.RESPONSE_LENGTH, p.lastResponseLength);
        }
        assertEquals(bad.length, server.metrics().offersRejected());
        assertEquals(1, server.metrics().handshakesV2());
        assertEquals(2 + bad.length, server.metrics().handshakesOk());
    }

    @Test
    void aVersion1SessionNeverGetsASealedAnswer() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer p = peer(server);
        assertNull(p.handshakeWithBlock(1, 1, new byte[] {V2Wire.TLV_VERSION, 1, 1}));
        long before = server.metrics().drops(DropReason.V1_SESSION);
        p.send(p.seal(lookupPlain(1, V2Wire.WANT_ALL, p.keys.publicKey()), 8 + 32, V2Wire.MAX_DATAGRAM));
        assertDroppedUnanswered(server, p, DropReason.V1_SESSION, before);
        // Its type 3 lookups are version 1's.
        byte[] answer = p.lookupV1(p.keys.publicKey());
        assertEquals(Wire.LOOKUP_RESPONSE_FOUND_LENGTH, answer.length);
    }

    @Test
    void aVersion1OnlyServerIgnoresTheOfferAndDropsSealedDatagrams() throws Exception {
        UdpRendezvousServer server = start(RendezvousServer.builder().bindAddress(LOOPBACK).protocolVersion(1));
        V2Peer p = peer(server);
        assertNull(p.handshake(1, 1, OFFER_ALL, 200), "a long message 1 is accepted, its block ignored");
        assertEquals(Wire.RESPONSE_LENGTH, p.lastResponseLength);
        assertEquals(0, server.metrics().offersRejected());
        long before = server.metrics().drops(DropReason.UNKNOWN_TYPE);
        p.send(p.seal(lookupPlain(1, V2Wire.WANT_ALL, p.keys.publicKey()), 8 + 32, V2Wire.MAX_DATAGRAM));
        assertDroppedUnanswered(server, p, DropReason.UNKNOWN_TYPE, before);
        byte[] plain = new byte[6];
        assertEquals(6, p.openV1(p.lookupV1(p.keys.publicKey()), plain));
    }

    @Test
    void messagesOneOutsideTheLengthRangeAreDroppedBeforeAnyCryptography() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer p = peer(server);
        byte[] tooLong = new byte[V2Wire.MAX_INITIATION_LENGTH + 1];
        tooLong[0] = Wire.TYPE_HANDSHAKE_INITIATION;
        p.send(tooLong);
        await(() -> server.metrics().drops(DropReason.TOO_LONG) == 1, "the 366-byte message 1 to be dropped");
        assertEquals(0, server.metrics().drops(DropReason.HANDSHAKE_INVALID));
        // The longest valid one is answered.
        assertNotNull(p.handshake(1, 1, OFFER_ALL, V2Wire.MAX_CAPABILITY_BLOCK - OFFER_ALL.encodedLength()));
        assertEquals(V2Wire.MAX_INITIATION_LENGTH, p.lastSent.length);
    }

    // ---- LOOKUP ----

    @Test
    void aBatchLookupAnswersEveryPositionWithAllEndpointsOfEachPeer() throws Exception {
        UdpRendezvousServer server = startLoopback();
        RawPeer a = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
        toClose.add(a);
        a.handshake(1, 1);
        V2Peer b = peer(server);
        b.handshake(1, 1, OFFER_ALL);
        byte[] reg = b.request(registerPlain(7, true, List.of(local("100.64.0.7", 51820), local("fd64::7", 51820))),
                8 + 2 * 19, 0);
        assertEquals(V2Wire.KIND_REGISTER_RESULT, Sealed.kind(reg, 0));
        assertEquals(2, dev.natpunch.protocol.v2.Registration.accepted(reg, 0));
        Key unknown = KeyPair.generate().publicKey();

        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER_ALL);
        byte[] result = c.request(lookupPlain(0x01020304, WANT_V4_V6_SRFLX_LOCAL, a.keys.publicKey(), unknown,
                b.keys.publicKey(), a.keys.publicKey()), 8 + 4 * 32, V2Wire.MAX_DATAGRAM);
        assertEquals(V2Wire.KIND_LOOKUP_RESULT, Sealed.kind(result, 0));
        assertEquals(0x01020304, Sealed.id(result, 0), "the request id is echoed");
        assertEquals(4, BatchLookup.answered(result, 0));
        InetSocketAddress aAt = new InetSocketAddress(LOOPBACK, a.localPort());
        assertEquals(List.of(srflx(aAt)), entry(result, 0), "a version 1 client is a peer like any other");
        assertNull(entry(result, 1), "unknown: no entry");
        assertEquals(List.of(srflx(b.localAddress()), local("100.64.0.7", 51820), local("fd64::7", 51820)),
                entry(result, 2), "server-reflexive first, then the local candidates");
        assertEquals(entry(result, 0), entry(result, 3), "a repeated key is answered again");
        assertEquals(entryVersion(result, 0), entryVersion(result, 3));
        assertEquals(3, server.metrics().lookupsHit());
        assertEquals(1, server.metrics().lookupsMiss());

        // The want byte filters; a family or kind the session did not negotiate is masked out.
        result = c.request(lookupPlain(2, V2Wire.WANT_IPV6 | V2Wire.WANT_LOCAL, b.keys.publicKey()), 8 + 32,
                V2Wire.MAX_DATAGRAM);
        assertEquals(List.of(local("fd64::7", 51820)), entry(result, 0));
        V2Peer onlyBatch = peer(server);
        onlyBatch.handshake(1, 1, Capabilities.offer(2, V2Wire.FEATURE_BATCH_LOOKUP));
        result = onlyBatch.request(lookupPlain(3, WANT_V4_V6_SRFLX_LOCAL, b.keys.publicKey()), 8 + 32,
                V2Wire.MAX_DATAGRAM);
        assertEquals(List.of(srflx(b.localAddress())), entry(result, 0), "no CANDIDATES, no DUAL_STACK");
        result = onlyBatch.request(lookupPlain(4, V2Wire.WANT_IPV4 | V2Wire.WANT_LOCAL, b.keys.publicKey()), 8 + 32,
                V2Wire.MAX_DATAGRAM);
        assertEquals(1, BatchLookup.answered(result, 0));
        assertNull(entry(result, 0), "left with no endpoint after the want filter: not found");
    }

    @Test
    void aLookupResultIsTruncatedToTheRequestsSizeAndSaysHowFarItGot() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer big = peer(server);
        big.handshake(1, 1, OFFER_ALL);
        List<WireEndpoint> four = List.of(local("100.64.0.1", 1), local("100.64.0.2", 2), local("100.64.0.3", 3),
                local("100.64.0.4", 4));
        big.request(registerPlain(1, true, four), 8 + 4 * 19, 56);
        Key unknown = KeyPair.generate().publicKey();
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER_ALL);

        // [unknown, big]: big's entry (6 + 5 * 19 = 101 bytes) cannot fit an unpadded 101-byte request.
        byte[] plain = lookupPlain(9, WANT_V4_V6_SRFLX_LOCAL, unknown, big.keys.publicKey());
        byte[] result = c.request(plain, plain.length, 0);
        assertEquals(101, c.lastSent.length);
        assertEquals(1, BatchLookup.answered(result, 0), "position 0 (not found) is answered, 1 is not");
        assertEquals(BatchLookup.firstEntry(0), BatchLookup.entriesEnd(result, 0), "no entries");
        assertTrue(Sealed.plaintextLimit(101) >= result.length);

        // Padded, everything fits.
        result = c.request(plain, plain.length, V2Wire.MAX_DATAGRAM);
        assertEquals(2, BatchLookup.answered(result, 0));
        assertEquals(5, entry(result, 1).size());

        // 37 keys of a peer with 5 endpoints: 37 * 101 bytes never fit in 1232, so the answer stops
        // where the next entry would not fit, and is itself no longer than the request.
        Key[] many = new Key[V2Wire.MAX_LOOKUP_KEYS];
        java.util.Arrays.fill(many, big.keys.publicKey());
        plain = lookupPlain(10, WANT_V4_V6_SRFLX_LOCAL, many);
        c.send(c.seal(plain, plain.length, V2Wire.MAX_DATAGRAM));
        byte[] datagram = c.receive();
        assertTrue(datagram.length <= V2Wire.MAX_DATAGRAM);
        result = c.open(datagram);
        int fit = (Sealed.plaintextLimit(V2Wire.MAX_DATAGRAM) - 8) / 101;
        assertEquals(fit, BatchLookup.answered(result, 0));
        assertEquals(8 + fit * 101, result.length);
    }

    @Test
    void type3KeepsItsVersion1MeaningInAVersion2SessionAndSharesCountersAndReplayWindow() throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        assumeIpv6(v6);
        UdpRendezvousServer server = start(RendezvousServer.builder());
        int port = server.localAddress().getPort();
        V2Peer only6 = peer(server, new InetSocketAddress(v6, port));
        only6.handshake(1, 1, OFFER_ALL);
        V2Peer c = peer(server, new InetSocketAddress(LOOPBACK, port));
        c.handshake(1, 1, OFFER_ALL);

        byte[] v1Answer = c.lookupV1(only6.keys.publicKey());
        assertEquals(Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH, v1Answer.length, "IPv6 only: not found to type 3");
        assertEquals(0, c.openV1(v1Answer, new byte[6]));
        long firstCounter = Wire.readLong(v1Answer, Wire.LOOKUP_RESPONSE_COUNTER_OFFSET);

        byte[] lookup = lookupPlain(5, V2Wire.WANT_IPV6 | V2Wire.WANT_SERVER_REFLEXIVE, only6.keys.publicKey());
        c.send(c.seal(lookup, lookup.length, V2Wire.MAX_DATAGRAM));
        byte[] datagram = c.receive();
        assertEquals(firstCounter + 1, Sealed.counter(datagram, 0), "one send counter for types 3 and 5");
        assertEquals(List.of(srflx(only6.localAddress())), entry(c.open(datagram), 0));

        v1Answer = c.lookupV1(c.keys.publicKey());
        assertEquals(Wire.LOOKUP_RESPONSE_FOUND_LENGTH, v1Answer.length);
        assertEquals(firstCounter + 2, Wire.readLong(v1Answer, Wire.LOOKUP_RESPONSE_COUNTER_OFFSET));

        // A replayed type 4 is dropped; so is a type 4 reusing a counter a type 3 already used.
        long replays = server.metrics().drops(DropReason.COUNTER_REPLAY);
        byte[] replay = c.seal(lookup, lookup.length, V2Wire.MAX_DATAGRAM);
        c.send(replay);
        assertNotNull(c.receive());
        c.send(replay);
        assertDroppedUnanswered(server, c, DropReason.COUNTER_REPLAY, replays);
        c.counter = 0;
        c.send(c.seal(lookup, lookup.length, V2Wire.MAX_DATAGRAM));
        assertDroppedUnanswered(server, c, DropReason.COUNTER_REPLAY, replays + 1);
    }

    private static void assumeIpv6(InetAddress v6) {
        try (DatagramChannel probe = DatagramChannel.open()) {
            probe.bind(new InetSocketAddress(v6, 0));
        } catch (IOException unavailable) {
            Assumptions.assumeTrue(false, "no IPv6 loopback on this machine");
        }
    }

    // ---- REGISTER, INFO ----

    @Test
    void registerReturnsTheObservedEndpointAndKeepsOnlyUsableCandidates() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer p = peer(server);
        p.handshake(1, 1, OFFER_ALL);
        List<WireEndpoint> offered = List.of(local("100.64.0.7", 51820), local("127.0.0.1", 51820),
                local("169.254.1.1", 51820), local("224.0.0.1", 51820), local("fe80::1", 51820), local("::1", 51820),
                local("ff02::1", 51820), local("100.64.0.7", 51820));
        byte[] result = p.request(registerPlain(3, true, offered), 8 + offered.size() * 19, 56);
        assertEquals(3, Sealed.id(result, 0));
        assertEquals(1, dev.natpunch.protocol.v2.Registration.accepted(result, 0),
                "loopback, link-local, multicast and the repeat are refused");
        assertEquals(srflx(p.localAddress()),
                WireEndpoint.read(result, dev.natpunch.protocol.v2.Registration.observedOffset(0)));

        // Without REPLACE_CANDIDATES they stay; the count reports what the server holds.
        result = p.request(registerPlain(4, false, List.of()), 8, 56);
        assertEquals(1, dev.natpunch.protocol.v2.Registration.accepted(result, 0));

        // Unpadded, the 56-byte answer does not fit a 37-byte request: carried out, not answered.
        long before = server.metrics().drops(DropReason.ANSWER_TOO_LONG);
        p.send(p.seal(registerPlain(5, true, List.of()), 8, 0));
        assertDroppedUnanswered(server, p, DropReason.ANSWER_TOO_LONG, before);
        result = p.request(lookupPlain(6, WANT_V4_V6_SRFLX_LOCAL, p.keys.publicKey()), 8 + 32, V2Wire.MAX_DATAGRAM);
        assertEquals(List.of(srflx(p.localAddress())), entry(result, 0), "the candidates were cleared");
    }

    @Test
    void theEndpointSetVersionGrowsWithEachChangeAndOnlyThen() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer b = peer(server);
        b.handshake(1, 1, OFFER_ALL);
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER_ALL);
        byte[] ask = lookupPlain(1, WANT_V4_V6_SRFLX_LOCAL, b.keys.publicKey());
        int v0 = entryVersion(c.request(ask, ask.length, V2Wire.MAX_DATAGRAM), 0);
        b.request(registerPlain(2, true, List.of(local("100.64.0.9", 1))), 27, 56);
        int v1 = entryVersion(c.request(ask, ask.length, V2Wire.MAX_DATAGRAM), 0);
        assertTrue(v1 - v0 > 0, "new candidates, newer version");
        b.request(registerPlain(3, true, List.of(local("100.64.0.9", 1))), 27, 56);
        b.request(registerPlain(4, false, List.of()), 8, 56);
        assertEquals(v1, entryVersion(c.request(ask, ask.length, V2Wire.MAX_DATAGRAM), 0), "nothing changed");
        // A new handshake from the same address changes nothing either.
        b.handshake(1, 2, OFFER_ALL);
        assertEquals(v1, entryVersion(c.request(ask, ask.length, V2Wire.MAX_DATAGRAM), 0));
    }

    @Test
    void infoListsWhereTheServerListens() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer p = peer(server);
        p.handshake(1, 1, OFFER_ALL);
        byte[] plain = new byte[7];
        ServerInfo.writeRequest(plain, 0, 11);
        byte[] result = p.request(plain, 7, 188);
        assertEquals(V2Wire.KIND_INFO_RESULT, Sealed.kind(result, 0));
        assertEquals(11, Sealed.id(result, 0));
        assertEquals(1, ServerInfo.endpointCount(result, 0));
        assertEquals(new WireEndpoint(WireEndpoint.Kind.SERVER_PRIMARY, LOOPBACK, server.localAddress().getPort()),
                WireEndpoint.read(result, ServerInfo.endpointOffset(0, 0)));
        // INFO needs no feature: a session that negotiated none may ask.
        V2Peer bare = peer(server);
        bare.handshake(1, 1, Capabilities.offer(2, 0));
        assertEquals(0, bare.answer.features());
        assertEquals(V2Wire.KIND_INFO_RESULT, Sealed.kind(bare.request(plain, 7, 188), 0));
    }

    // ---- errors ----

    @Test
    void unsupportedAndMalformedRequestsGetAnErrorWithTheirIdIfItFits() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer p = peer(server);
        p.handshake(1, 1, Capabilities.offer(2, V2Wire.FEATURE_BATCH_LOOKUP));

        byte[] unknownKind = new byte[7];
        Sealed.writeInnerHeader(unknownKind, 0, (byte) 0x08, 77, 0);
        assertError(p.request(unknownKind, 7, 37), 77, ErrorMessage.UNSUPPORTED);

        byte[] subscribe = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Subscription.writeRequest(subscribe, 0, 78, Subscription.OP_REPLACE, V2Wire.WANT_ALL, new Key[0], 0, 0);
        assertError(p.request(subscribe, n, 41), 78, ErrorMessage.UNSUPPORTED);

        byte[] lookup = lookupPlain(79, V2Wire.WANT_ALL, p.keys.publicKey());
        lookup[7] = (byte) 0x20; // a reserved want bit
        assertError(p.request(lookup, lookup.length, 0), 79, ErrorMessage.MALFORMED);

        byte[] padded = lookupPlain(80, V2Wire.WANT_ALL, p.keys.publicKey());
        byte[] withJunk = java.util.Arrays.copyOf(padded, padded.length + 4);
        withJunk[withJunk.length - 1] = 1; // non-zero padding
        assertError(p.request(withJunk, withJunk.length, 0), 80, ErrorMessage.MALFORMED);

        // A 36-byte request cannot get the 37-byte ERROR (here a PUSH_ACK, never answered anyway).
        long before = server.metrics().drops(DropReason.ANSWER_TOO_LONG);
        byte[] ack = new byte[7];
        Push.writeAck(ack, 0, 81);
        p.send(p.seal(ack, 7, 0));
        assertDroppedUnanswered(server, p, DropReason.ANSWER_TOO_LONG, before);

        // A server-to-client kind, or a plaintext too short for an id: dropped.
        before = server.metrics().drops(DropReason.MALFORMED_REQUEST);
        byte[] wrong = new byte[8];
        ErrorMessage.write(wrong, 0, 82, ErrorMessage.UNSUPPORTED);
        p.send(p.seal(wrong, 8, 100));
        assertDroppedUnanswered(server, p, DropReason.MALFORMED_REQUEST, before);
        assertEquals(4, server.metrics().errorsSent());
        assertEquals(0, server.metrics().drops(DropReason.INTERNAL_ERROR));
    }

    private static void assertError(byte[] answer, int id, int code) {
        assertNotNull(answer, "no ERROR came");
        assertEquals(V2Wire.KIND_ERROR, Sealed.kind(answer, 0));
        assertEquals(id, Sealed.id(answer, 0));
        assertEquals(code, ErrorMessage.code(answer, 0));
    }

    @Test
    void sealedDatagramsThatDoNotAuthenticateOrNameNoSessionAreDroppedSilently() throws Exception {
        UdpRendezvousServer server = startLoopback();
        V2Peer p = peer(server);
        p.handshake(1, 1, OFFER_ALL);
        byte[] lookup = lookupPlain(1, V2Wire.WANT_ALL, p.keys.publicKey());
        byte[] d = p.seal(lookup, lookup.length, V2Wire.MAX_DATAGRAM);
        d[0] = V2Wire.TYPE_SEALED_TO_SERVER;
        byte[] forged = d.clone();
        forged[3] ^= 1; // the index is associated data
        long unknown = server.metrics().drops(DropReason.UNKNOWN_SESSION);
        p.send(forged);
        assertDroppedUnanswered(server, p, DropReason.UNKNOWN_SESSION, unknown);
        byte[] flipped = d.clone();
        flipped[100] ^= 1;
        p.send(flipped);
        assertDroppedUnanswered(server, p, DropReason.DECRYPTION_FAILED, 0);
        byte[] asType5 = d.clone();
        asType5[0] = V2Wire.TYPE_SEALED_TO_CLIENT;
        p.send(asType5);
        assertDroppedUnanswered(server, p, DropReason.WRONG_DIRECTION, 0);
        // The genuine one still works: none of the above consumed its counter.
        p.send(d);
        assertArrayEquals(new byte[] {V2Wire.KIND_LOOKUP_RESULT}, new byte[] {Sealed.kind(p.open(p.receive()), 0)});
    }
}
