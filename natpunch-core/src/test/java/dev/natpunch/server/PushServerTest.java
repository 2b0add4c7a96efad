package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SUBSCRIBE, PUSH_UPDATE and PUSH_ACK over real UDP on loopback: pushes at once on a change,
 * retransmission until acked, address validation, the caps, subscriptions ending with the
 * session, and the pushes of INTEREST (who looked a session's owner up).
 */
class PushServerTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Capabilities OFFER = Capabilities.offer(2, V2Wire.FEATURES_V2);
    private static final Capabilities OFFER_INTEREST = Capabilities.offer(2, V2Wire.FEATURES_V2 | V2Wire.FEATURE_INTEREST);
    private static final int WANT = V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6 | V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_LOCAL;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private UdpRendezvousServer start(int perSession, long total) throws IOException {
        ServerConfig config = new ServerConfig(0, LOOPBACK, KeyPair.generate(),
                RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(), RendezvousServer.DEFAULT_SESSION_TTL.toMillis(),
                1000, 1000, 2, null, clock, 0, 0, new ServerConfig.Extensions(2, perSession, total));
        UdpRendezvousServer server = new UdpRendezvousServer(config);
        toClose.add(server);
        server.start();
        return server;
    }

    private UdpRendezvousServer start() throws IOException {
        return start(ServerConfig.Extensions.DEFAULT_SUBSCRIPTIONS_PER_SESSION, 100_000);
    }

    private V2Peer peer(RendezvousServer server) throws IOException {
        V2Peer p = new V2Peer(KeyPair.generate(), server.publicKey(), server.localAddress());
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

    private static byte[] subscribe(V2Peer p, int id, int op, Key... keys) throws IOException {
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Subscription.writeRequest(plain, 0, id, op, WANT, keys, 0, keys.length);
        byte[] result = p.request(plain, n, V2Wire.MAX_DATAGRAM);
        assertNotNull(result, "no SUBSCRIBE_RESULT");
        assertEquals(V2Wire.KIND_SUBSCRIBE_RESULT, Sealed.kind(result, 0));
        assertEquals(id, Sealed.id(result, 0));
        return result;
    }

    private static void lookup(V2Peer p, int id, Key... keys) throws IOException {
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = BatchLookup.writeRequest(plain, 0, id, WANT, keys, 0, keys.length);
        byte[] result = p.request(plain, n, V2Wire.MAX_DATAGRAM);
        assertNotNull(result, "no LOOKUP_RESULT");
        assertEquals(V2Wire.KIND_LOOKUP_RESULT, Sealed.kind(result, 0));
    }

    private static void ack(V2Peer p, byte[] push) throws IOException {
        byte[] plain = new byte[7];
        Push.writeAck(plain, 0, Sealed.id(push, 0));
        p.send(p.seal(plain, 7, 0));
    }

    /** The next push (type 5, kind PUSH_UPDATE) this peer receives; null after the timeout. */
    private static byte[] nextPush(V2Peer p) throws IOException {
        byte[] d = p.receive();
        if (d == null) {
            return null;
        }
        byte[] plain = p.open(d);
        assertEquals(V2Wire.KIND_PUSH_UPDATE, Sealed.kind(plain, 0), "expected a push");
        return plain;
    }

    /** (key, version, endpoints) of every entry. */
    private static List<Object[]> entries(byte[] push) {
        List<Object[]> out = new ArrayList<>();
        for (int e = Push.firstEntry(0); e < Push.entriesEnd(push, 0); e = Push.nextEntry(push, e)) {
            List<WireEndpoint> eps = new ArrayList<>();
            for (int i = 0; i < Push.entryEndpointCount(push, e); i++) {
                eps.add(WireEndpoint.read(push, Push.entryEndpoint(e, i)));
            }
            out.add(new Object[] {Key.fromBytes(Arrays.copyOfRange(push, e, e + 32)), Push.entryVersion(push, e), eps});
        }
        return out;
    }

    private static WireEndpoint srflx(InetSocketAddress a) {
        return new WireEndpoint(WireEndpoint.Kind.SERVER_REFLEXIVE, a.getAddress(), a.getPort());
    }

    @Test
    void aSubscriberIsPushedAPeerThatRegistersAndChangesAndAcksStopTheRetransmissions() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer c = peer(server);
        Capabilities answer = c.handshake(1, 1, OFFER);
        assertTrue(answer.has(V2Wire.FEATURE_PUSH), "a server with sockets offers PUSH");
        V2Peer b = peer(server);
        byte[] result = subscribe(c, 1, Subscription.OP_REPLACE, b.keys.publicKey());
        assertEquals(Subscription.STATUS_OK, Subscription.status(result, 0));
        assertEquals(1, Subscription.setSize(result, 0));
        assertEquals(1024, Subscription.cap(result, 0));
        assertEquals(1, server.metrics().subscriptions());

        b.handshake(1, 1, OFFER);
        byte[] push = nextPush(c);
        assertNotNull(push, "no push when the subscribed key registered");
        List<Object[]> e = entries(push);
        assertEquals(1, e.size());
        assertEquals(b.keys.publicKey(), e.get(0)[0]);
        assertEquals(List.of(srflx(b.localAddress())), e.get(0)[2]);
        int v1 = (int) e.get(0)[1];

        // Unacknowledged, it comes again: same id and content, a new counter.
        byte[] again = nextPush(c);
        assertNotNull(again, "no retransmission");
        assertArrayEquals(push, again);
        ack(c, again);

        // The ack validated the address: a change goes out at once, up to 1232 bytes.
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Registration.writeRequest(plain, 0, 2, true, List.of(
                new WireEndpoint(WireEndpoint.Kind.LOCAL, InetAddress.getByName("100.64.0.2"), 51820)));
        assertNotNull(b.request(plain, n, 56));
        byte[] next = nextPush(c);
        assertNotNull(next);
        assertNotEquals(Sealed.id(push, 0), Sealed.id(next, 0), "a new push id");
        e = entries(next);
        assertTrue((int) e.get(0)[1] - v1 > 0, "a newer version");
        assertEquals(2, ((List<?>) e.get(0)[2]).size());
        ack(c, next);
        long sent = server.metrics().pushesSent();
        c.setReceiveTimeout(1200);
        assertNull(c.receive(), "an acknowledged push was sent again");
        assertEquals(sent, server.metrics().pushesSent());
    }

    @Test
    void anUnvalidatedAddressGetsOnePushThreeTimesAtMostNoLongerThanItsLastDatagram() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER);
        V2Peer b = peer(server);
        subscribe(c, 1, Subscription.OP_REPLACE, b.keys.publicKey());
        b.handshake(1, 1, OFFER);
        byte[] first = nextPush(c);
        assertNotNull(first);
        assertTrue(c.lastSent.length >= first.length + 29);
        assertArrayEquals(first, nextPush(c));
        assertArrayEquals(first, nextPush(c));
        c.setReceiveTimeout(3000);
        assertNull(c.receive(), "a fourth send to an unvalidated address");
        assertEquals(3, server.metrics().pushesSent());

        // The client's next datagram lets the push out again, under a new id; a 36-byte datagram
        // is too short for it, an INFO padded to 188 bytes is not.
        byte[] info = new byte[7];
        ServerInfo.writeRequest(info, 0, 9);
        c.send(c.seal(info, 7, 188));
        byte[] d1 = c.receive();
        byte[] d2 = c.receive();
        assertNotNull(d1);
        assertNotNull(d2);
        byte[] a1 = c.open(d1);
        byte[] a2 = c.open(d2);
        byte[] push = Sealed.kind(a1, 0) == V2Wire.KIND_PUSH_UPDATE ? a1 : a2;
        assertEquals(V2Wire.KIND_PUSH_UPDATE, Sealed.kind(push, 0));
        assertNotEquals(Sealed.id(first, 0), Sealed.id(push, 0));
        assertTrue(Math.max(d1.length, d2.length) <= 188);
    }

    @Test
    void subscriptionsEndWithTheSessionAndRemoveStopsPushes() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER);
        V2Peer b = peer(server);
        V2Peer d = peer(server);
        byte[] r = subscribe(c, 1, Subscription.OP_ADD, b.keys.publicKey(), d.keys.publicKey());
        assertEquals(2, Subscription.setSize(r, 0));
        r = subscribe(c, 2, Subscription.OP_REMOVE, b.keys.publicKey());
        assertEquals(1, Subscription.setSize(r, 0));
        b.handshake(1, 1, OFFER);
        d.handshake(1, 1, OFFER);
        byte[] push = nextPush(c);
        assertEquals(d.keys.publicKey(), entries(push).get(0)[0], "only the key still subscribed");
        ack(c, push);
        await(() -> server.handler().pushes.indexedKeys() == 1, "the index to hold d only");

        c.handshake(1, 2, OFFER); // a new session: the old one's subscriptions are gone
        assertEquals(0, server.metrics().subscriptions());
        assertEquals(0, server.handler().pushes.indexedKeys());
        d.handshake(7, 2, OFFER);
        c.setReceiveTimeout(800);
        assertNull(c.receive(), "pushed on a subscription of an ended session");
    }

    @Test
    void aKeyThatExpiresIsPushedWithNoEndpoints() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer b = peer(server);
        b.handshake(1, 1, OFFER);
        clock.advance(Duration.ofMinutes(25));
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER);
        subscribe(c, 1, Subscription.OP_REPLACE, b.keys.publicKey());
        clock.advance(Duration.ofMinutes(6)); // b: 31 minutes quiet (expired), c's session: 6 minutes old
        server.sweepNow();
        byte[] push = nextPush(c);
        assertNotNull(push);
        assertEquals(List.of(), entries(push).get(0)[2], "count 0: no longer registered");
    }

    @Test
    void theSubscriptionCapsRefuseWithLimitAndChangeNothing() throws Exception {
        UdpRendezvousServer server = start(3, 4);
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER);
        Key[] four = {KeyPair.generate().publicKey(), KeyPair.generate().publicKey(), KeyPair.generate().publicKey(),
            KeyPair.generate().publicKey()};
        byte[] r = subscribe(c, 1, Subscription.OP_REPLACE, four);
        assertEquals(Subscription.STATUS_LIMIT, Subscription.status(r, 0));
        assertEquals(0, Subscription.setSize(r, 0));
        assertEquals(3, Subscription.cap(r, 0));
        r = subscribe(c, 2, Subscription.OP_REPLACE, four[0], four[1], four[2], four[0]);
        assertEquals(Subscription.STATUS_OK, Subscription.status(r, 0));
        assertEquals(3, Subscription.setSize(r, 0), "a repeated key counts once");
        V2Peer other = peer(server);
        other.handshake(1, 1, OFFER);
        r = subscribe(other, 3, Subscription.OP_ADD, four[3], four[0]);
        assertEquals(Subscription.STATUS_LIMIT, Subscription.status(r, 0), "the server-wide cap (4)");
        r = subscribe(other, 4, Subscription.OP_ADD, four[3]);
        assertEquals(Subscription.STATUS_OK, Subscription.status(r, 0));
        assertEquals(4, server.metrics().subscriptions());
        r = subscribe(c, 5, Subscription.OP_REPLACE);
        assertEquals(0, Subscription.setSize(r, 0), "REPLACE with no keys clears the set");
        assertEquals(1, server.metrics().subscriptions());
    }

    @Test
    void acksNamingIdsNeverSentStopPushesForTheSession() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer c = peer(server);
        c.handshake(1, 1, OFFER);
        V2Peer b = peer(server);
        subscribe(c, 1, Subscription.OP_REPLACE, b.keys.publicKey());
        PushState state = server.handler().sessions.get(c.index).push;
        for (int i = 0; i < PushState.WRONG_ACK_LIMIT; i++) {
            byte[] plain = new byte[7];
            Push.writeAck(plain, 0, 0x5eed0000 + i);
            c.send(c.seal(plain, 7, 0));
        }
        await(state::isStopped, "the guessing session to be stopped");
        b.handshake(1, 1, OFFER);
        c.setReceiveTimeout(800);
        assertNull(c.receive(), "pushed to a session that guessed push ids");
        assertFalse(state.isValidated());
    }

    @Test
    void aSessionWithInterestIsPushedWhoLooksItUpOncePerChangeOfTheirEndpoints() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer b = peer(server);
        assertTrue(b.handshake(1, 1, OFFER_INTEREST).has(V2Wire.FEATURE_INTEREST), "a pushing server offers INTEREST");
        V2Peer without = peer(server);
        assertFalse(without.handshake(1, 1, OFFER).has(V2Wire.FEATURE_INTEREST));
        V2Peer a = peer(server);
        a.handshake(1, 1, OFFER);
        subscribe(b, 9, Subscription.OP_REPLACE); // what clients send after a handshake, padded: b's return address

        lookup(a, 1, b.keys.publicKey(), without.keys.publicKey());
        byte[] push = nextPush(b);
        assertNotNull(push, "b was not told that a looked it up");
        List<Object[]> e = entries(push);
        assertEquals(1, e.size());
        assertEquals(a.keys.publicKey(), e.get(0)[0]);
        assertEquals(List.of(srflx(a.localAddress())), e.get(0)[2]);
        ack(b, push);
        without.setReceiveTimeout(800);
        assertNull(without.receive(), "a session that did not negotiate INTEREST was pushed");

        // The same lookup later is no news; a lookup from a's new address is.
        clock.advance(Duration.ofSeconds(2));
        lookup(a, 2, b.keys.publicKey());
        b.setReceiveTimeout(800);
        assertNull(b.receive(), "told twice about the same endpoints");
        a.moveTo(server.localAddress());
        clock.advance(Duration.ofSeconds(2));
        lookup(a, 3, b.keys.publicKey());
        b.setReceiveTimeout(2000);
        push = nextPush(b);
        assertNotNull(push, "not told about the looker's new endpoint");
        assertEquals(List.of(srflx(a.localAddress())), entries(push).get(0)[2]);
        ack(b, push);

        // Once b follows a, a's lookups tell it nothing more: the subscription does.
        PushState state = server.handler().sessions.get(b.index).push;
        assertEquals(1, state.interestCount());
        subscribe(b, 4, Subscription.OP_REPLACE, a.keys.publicKey());
        assertEquals(0, state.interestCount());
        assertEquals(1, server.metrics().subscriptions());
        clock.advance(Duration.ofSeconds(2));
        a.moveTo(server.localAddress());
        lookup(a, 5, b.keys.publicKey());
        push = nextPush(b);
        assertNotNull(push, "the subscription's push of a's new endpoint");
        ack(b, push);
        b.setReceiveTimeout(800);
        assertNull(b.receive(), "a second push for one change");
    }

    @Test
    void aSessionRemembersBoundedlyManyLookersAndFreesThemWithTheSession() throws Exception {
        UdpRendezvousServer server = start();
        V2Peer b = peer(server);
        b.handshake(1, 1, OFFER_INTEREST);
        PushState state = server.handler().sessions.get(b.index).push;
        for (int i = 0; i < PushState.MAX_INTEREST + 6; i++) {
            V2Peer a = peer(server);
            a.handshake(1, 1, OFFER);
            lookup(a, 1, b.keys.publicKey());
        }
        assertEquals(PushState.MAX_INTEREST, state.interestCount());
        assertEquals(PushState.MAX_INTEREST, server.metrics().subscriptions(), "counted against the server's cap");
        b.handshake(1, 2, OFFER_INTEREST);
        assertEquals(0, server.metrics().subscriptions(), "freed with the session");
    }
}
