package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Authenticated garbage: version 2 clients with real sessions send sealed requests of every
 * kind with random, mostly malformed bodies, from random sources, with random padding, while the
 * clock jumps and the sweeper runs. Nothing may throw, no answer may be longer than its request,
 * every answer must be a well-formed type 5 of the right session, and every push must respect
 * the limits.
 */
class SealedRequestsRandomTest {
    private static final int CLIENTS = 4;

    @Test
    void randomAuthenticatedRequestsNeverBreakTheHandler() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
        KeyPair serverKeys = KeyPair.generate();
        PacketHandler h = new PacketHandler(new ServerConfig(0, null, serverKeys,
                RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(), RendezvousServer.DEFAULT_SESSION_TTL.toMillis(),
                8, 8, 1, null, clock, 0, 0, new ServerConfig.Extensions(2, 5, 12)));
        List<Integer> pushLengths = new CopyOnWriteArrayList<>();
        h.pushes.start((d, off, len, to) -> pushLengths.add(len), "test-push");
        InetAddress server = InetAddress.getByName("198.18.0.1");
        BoundSocket[] sockets = {
            new BoundSocket(0, 0, WireEndpoint.Kind.SERVER_PRIMARY, new InetSocketAddress(server, 3000),
                    List.of(new WireEndpoint(WireEndpoint.Kind.SERVER_PRIMARY, server, 3000))),
            new BoundSocket(1, 0, WireEndpoint.Kind.SERVER_ALT_PORT, new InetSocketAddress(server, 3001),
                    List.of(new WireEndpoint(WireEndpoint.Kind.SERVER_ALT_PORT, server, 3001))),
        };
        h.sealed.setSockets(List.of(sockets));
        try {
            run(h, clock, serverKeys, sockets, new SplittableRandom(20261125));
        } finally {
            h.pushes.close();
        }
        for (int len : pushLengths) {
            assertTrue(len >= V2Wire.MIN_SEALED_LENGTH && len <= V2Wire.MAX_DATAGRAM, "push of " + len);
        }
    }

    private static void run(PacketHandler h, MutableClock clock, KeyPair serverKeys, BoundSocket[] sockets,
                            SplittableRandom rnd)
            throws Exception {
        InetSocketAddress[] sources = {
            new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820),
            new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 1),
            new InetSocketAddress(InetAddress.getByName("fd18::7"), 51820),
            new InetSocketAddress(InetAddress.getByName("::ffff:198.18.0.3"), 4000),
        };
        KeyPair[] keys = new KeyPair[CLIENTS];
        TransportKeys[] transport = new TransportKeys[CLIENTS];
        int[] index = new int[CLIENTS];
        long[] counter = new long[CLIENTS];
        long[] timestamp = new long[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            keys[i] = KeyPair.generate();
        }
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        byte[] out = new byte[V2Wire.MAX_DATAGRAM];
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        byte[] datagram = new byte[V2Wire.MAX_DATAGRAM];
        byte[] opened = new byte[V2Wire.MAX_DATAGRAM];
        byte[] known = {V2Wire.KIND_LOOKUP, V2Wire.KIND_SUBSCRIBE, V2Wire.KIND_PUSH_ACK, V2Wire.KIND_REGISTER,
            V2Wire.KIND_PROBE, V2Wire.KIND_INFO, V2Wire.KIND_RELAY, V2Wire.KIND_LOOKUP_RESULT, V2Wire.KIND_ERROR, 0x08};
        int answered = 0;
        for (int step = 0; step < 20_000; step++) {
            int c = rnd.nextInt(CLIENTS);
            InetSocketAddress source = sources[rnd.nextInt(sources.length)];
            if (transport[c] == null || rnd.nextInt(500) == 0) {
                NoiseHandshake hs = NoiseHandshake.initiator(keys[c], serverKeys.publicKey(),
                        NoiseHandshake.NATPUNCH_PROLOGUE);
                byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
                int n = V2Handshake.encodeInitiation(hs, rnd.nextInt(), ++timestamp[c],
                        Capabilities.offer(2, rnd.nextLong()), new byte[300], m1, 0);
                int r = h.handle(m1, 0, n, source, out, 0, scratch);
                if (r > 0) {
                    V2Handshake.readResponse(hs, out, 0, r, new byte[V2Wire.MAX_CAPABILITY_BLOCK]);
                    transport[c] = hs.split();
                    index[c] = Wire.readInt(out, Wire.INDEX_OFFSET);
                    counter[c] = 0;
                }
                continue;
            }
            if (rnd.nextInt(300) == 0) {
                clock.advance(Duration.ofSeconds(rnd.nextInt(900)));
                h.sweep();
            }
            byte kind = known[rnd.nextInt(known.length)];
            int bodyLength = rnd.nextInt(4) == 0 ? rnd.nextInt(V2Wire.MAX_BODY + 1) : 1 + 32 * rnd.nextInt(4);
            int plen = V2Wire.INNER_HEADER_LENGTH + bodyLength;
            Sealed.writeInnerHeader(plain, 0, kind, rnd.nextInt(), rnd.nextInt(50) == 0 ? rnd.nextInt(65536) : bodyLength);
            for (int i = V2Wire.INNER_HEADER_LENGTH; i < plen; i++) {
                // Mostly small values, so that want bytes, flags, counts and endpoints are often valid.
                plain[i] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(256) : rnd.nextInt(3) == 0 ? 0x14 : rnd.nextInt(16));
            }
            int padTo = rnd.nextBoolean() ? 0 : Math.min(V2Wire.MAX_DATAGRAM, plen + 29 + rnd.nextInt(1232));
            long ctr = rnd.nextInt(20) == 0 ? Math.max(0, counter[c] - 1 - rnd.nextInt(3)) : counter[c]++;
            int n = Sealed.seal(transport[c].sender(), V2Wire.TYPE_SEALED_TO_SERVER, index[c], ctr, plain, 0, plen,
                    padTo, datagram, 0);
            if (rnd.nextInt(20) == 0) {
                datagram[rnd.nextInt(n)] ^= (byte) (1 + rnd.nextInt(255));
            }
            BoundSocket at = sockets[rnd.nextInt(4) == 0 ? 1 : 0];
            int r = h.handle(datagram, 0, n, source, at, out, 0, scratch);
            assertTrue(r <= n, "answered " + r + " bytes to " + n);
            assertTrue(scratch.sendFrom == -1 || r > 0 && scratch.sendFrom >= 0 && scratch.sendFrom < sockets.length);
            if (r > 0) {
                answered++;
                assertEquals(V2Wire.TYPE_SEALED_TO_CLIENT, out[0]);
                assertEquals(index[c], Sealed.sessionIndex(out, 0));
                int m = Sealed.open(transport[c].receiver(), out, 0, r, opened, 0);
                assertTrue(m >= 0, "an answer that does not authenticate");
                assertEquals(null, V2Messages.checkToClient(opened, 0, m), "a malformed answer");
            }
        }
        ServerMetrics m = h.metrics();
        assertEquals(0, m.drops(DropReason.INTERNAL_ERROR), m.drops().toString());
        assertTrue(answered > 1000, "too few answers (" + answered + ") for the test to mean much");
        assertTrue(m.errorsSent() > 0 && m.lookupsHit() + m.lookupsMiss() > 0, m.toString());
        assertTrue(h.registry.size() <= 8 && h.sessions.size() <= 8);
        assertTrue(h.pushes.total() <= 12, "subscriptions over the total cap");
    }
}
