package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.fuzz.FuzzKeys;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Fuzz targets for the server's protocol version 2 paths: message 1 with any capability block
 * the fuzzer writes (encrypted properly, so the server reaches the block), and sealed requests of
 * any kind and body on live sessions of three clients, interleaved with new handshakes, clock
 * jumps and sweeps. Invariants after every datagram: INTERNAL_ERROR stays 0, no answer is longer
 * than its request, every answer authenticates under its client's session and is well formed,
 * every push is within the datagram limits, and the tables (registrations, sessions,
 * subscriptions) stay within their caps, which are tiny here.
 */
class V2PacketHandlerFuzzTest {
    private static final int MAX_REGISTRATIONS = 4;
    private static final int MAX_SESSIONS = 5;
    private static final int SUBSCRIPTIONS_PER_SESSION = 3;
    private static final int TOTAL_SUBSCRIPTIONS = 7;
    private static final KeyPair[] CLIENTS = {FuzzKeys.CLIENT, FuzzKeys.PEER, KeyPair.generate()};
    private static final InetSocketAddress[] SOURCES;

    static {
        try {
            SOURCES = new InetSocketAddress[] {
                new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820),
                new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 1),
                new InetSocketAddress(InetAddress.getByName("fd18::7"), 51820),
                new InetSocketAddress(InetAddress.getByName("::ffff:198.18.0.3"), 4000),
            };
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static PacketHandler handler(MutableClock clock, List<Integer> pushes) throws UnknownHostException {
        PacketHandler h = new PacketHandler(new ServerConfig(0, null, FuzzKeys.SERVER,
                RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(), RendezvousServer.DEFAULT_SESSION_TTL.toMillis(),
                MAX_REGISTRATIONS, MAX_SESSIONS, 1, null, clock, 0, 0,
                new ServerConfig.Extensions(2, SUBSCRIPTIONS_PER_SESSION, TOTAL_SUBSCRIPTIONS)));
        h.pushes.start((d, off, len, to) -> pushes.add(len), "fuzz-push");
        InetAddress server = InetAddress.getByName("198.18.0.100");
        h.sealed.setSockets(List.of(new BoundSocket(0, 0, WireEndpoint.Kind.SERVER_PRIMARY,
                new InetSocketAddress(server, 3478), List.of(new WireEndpoint(WireEndpoint.Kind.SERVER_PRIMARY,
                server, 3478)))));
        return h;
    }

    /** Message 1 with the fuzzer's bytes as capability block, to a fresh server. */
    @FuzzTest(maxDuration = "60s")
    void offers(FuzzedDataProvider data) throws Exception {
        List<Integer> pushes = new CopyOnWriteArrayList<>();
        PacketHandler h = handler(new MutableClock(Instant.parse("2026-11-25T12:00:00Z")), pushes);
        try {
            NoiseHandshake hs = NoiseHandshake.initiator(FuzzKeys.CLIENT, FuzzKeys.SERVER.publicKey(),
                    NoiseHandshake.NATPUNCH_PROLOGUE);
            byte[] block = data.consumeBytes(V2Wire.MAX_CAPABILITY_BLOCK + 16);
            byte[] payload = new byte[Wire.TIMESTAMP_LENGTH + block.length];
            Wire.writeLong(payload, 0, 1 + data.consumeLong(0, Long.MAX_VALUE - 1));
            System.arraycopy(block, 0, payload, Wire.TIMESTAMP_LENGTH, block.length);
            byte[] d = new byte[Wire.INITIATION_NOISE_OFFSET + NoiseHandshake.MESSAGE1_OVERHEAD + payload.length];
            d[0] = Wire.TYPE_HANDSHAKE_INITIATION;
            Wire.writeInt(d, Wire.INDEX_OFFSET, data.consumeInt());
            hs.writeMessage(payload, 0, payload.length, d, Wire.INITIATION_NOISE_OFFSET);
            byte[] out = new byte[V2Wire.MAX_DATAGRAM];
            int n = h.handle(d, 0, d.length, SOURCES[data.consumeInt(0, SOURCES.length - 1)], out, 0,
                    new PacketHandler.Scratch());
            assertTrue(n <= d.length, "answered " + n + " bytes to " + d.length);
            assertEquals(0, h.metrics().drops(DropReason.INTERNAL_ERROR));
            if (n > 0) {
                assertEquals(null, V2Handshake.checkResponse(out, 0, n));
                byte[] got = new byte[V2Wire.MAX_CAPABILITY_BLOCK];
                int blockLength = V2Handshake.readResponse(hs, out, 0, n, got);
                assertEquals(n == Wire.RESPONSE_LENGTH, blockLength == 0);
                if (blockLength > 0) {
                    assertEquals(null, Capabilities.check(got, 0, blockLength, true), "the server's block is malformed");
                    Capabilities.read(got, 0, blockLength, true);
                }
            }
        } finally {
            h.pushes.close();
        }
    }

    private static final class Client {
        final KeyPair keys;
        TransportKeys session;
        int index;
        long counter;
        long timestamp;

        Client(KeyPair keys) {
            this.keys = keys;
        }
    }

    /** Sealed requests of any kind, body and padding on live version 2 sessions. */
    @FuzzTest(maxDuration = "60s")
    void sealedOnLiveSessions(FuzzedDataProvider data) throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
        List<Integer> pushes = new CopyOnWriteArrayList<>();
        PacketHandler h = handler(clock, pushes);
        try {
            PacketHandler.Scratch scratch = new PacketHandler.Scratch();
            Client[] clients = new Client[CLIENTS.length];
            byte[] out = new byte[V2Wire.MAX_DATAGRAM];
            for (int i = 0; i < clients.length; i++) {
                clients[i] = new Client(CLIENTS[i]);
                handshake(h, clients[i], SOURCES[i % SOURCES.length], data.consumeLong(), out, scratch);
            }
            byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
            byte[] datagram = new byte[V2Wire.MAX_DATAGRAM];
            byte[] opened = new byte[V2Wire.MAX_DATAGRAM];
            for (int step = 0; step < 32 && data.remainingBytes() > 0; step++) {
                Client c = clients[data.consumeInt(0, clients.length - 1)];
                InetSocketAddress source = SOURCES[data.consumeInt(0, SOURCES.length - 1)];
                switch (data.consumeInt(0, 9)) {
                    case 0:
                        handshake(h, c, source, data.consumeLong(), out, scratch);
                        continue;
                    case 1:
                        clock.advance(Duration.ofMillis(data.consumeLong(0, 2 * 3600_000)));
                        h.sweep();
                        continue;
                    default:
                        break;
                }
                if (c.session == null) {
                    continue;
                }
                byte[] body = data.consumeBytes(V2Wire.MAX_BODY);
                int declared = data.consumeBoolean() ? body.length : data.consumeInt(0, 65535);
                int plen = Sealed.writeInnerHeader(plain, 0, data.consumeByte(), data.consumeInt(), declared);
                System.arraycopy(body, 0, plain, plen, body.length);
                plen += body.length;
                int padTo = data.consumeBoolean() ? 0 : Math.min(V2Wire.MAX_DATAGRAM, plen + data.consumeInt(0, 1300));
                long counter = data.consumeBoolean() ? c.counter++ : data.consumeLong(0, c.counter + 2000);
                int n = Sealed.seal(c.session.sender(), V2Wire.TYPE_SEALED_TO_SERVER, c.index, counter, plain, 0,
                        plen, padTo, datagram, 0);
                int r = h.handle(datagram, 0, n, source, out, 0, scratch);
                assertTrue(r <= n, "answered " + r + " bytes to " + n);
                if (r > 0) {
                    assertEquals(V2Wire.TYPE_SEALED_TO_CLIENT, out[0]);
                    assertEquals(c.index, Sealed.sessionIndex(out, 0));
                    int m = Sealed.open(c.session.receiver(), out, 0, r, opened, 0);
                    assertTrue(m >= 0, "an answer that does not authenticate under the client's session");
                    assertEquals(null, V2Messages.checkToClient(opened, 0, m), "a malformed answer");
                }
                assertInvariants(h);
            }
            assertInvariants(h);
        } finally {
            h.pushes.close();
        }
        for (int len : pushes) {
            assertTrue(len >= V2Wire.MIN_SEALED_LENGTH && len <= V2Wire.MAX_DATAGRAM, "push of " + len);
        }
    }

    private static void assertInvariants(PacketHandler h) {
        assertEquals(0, h.metrics().drops(DropReason.INTERNAL_ERROR), h.metrics().drops().toString());
        assertTrue(h.registry.size() <= MAX_REGISTRATIONS, "registrations " + h.registry.size());
        assertTrue(h.sessions.size() <= MAX_SESSIONS, "sessions " + h.sessions.size());
        assertTrue(h.pushes.total() <= TOTAL_SUBSCRIPTIONS, "subscriptions " + h.pushes.total());
    }

    private static void handshake(PacketHandler h, Client c, InetSocketAddress source, long features, byte[] out,
                                  PacketHandler.Scratch scratch) throws HandshakeException {
        NoiseHandshake hs = NoiseHandshake.initiator(c.keys, FuzzKeys.SERVER.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        int n = V2Handshake.encodeInitiation(hs, c.index + 1, ++c.timestamp, Capabilities.offer(2, features),
                new byte[8 + V2Wire.MAX_CAPABILITY_BLOCK], m1, 0);
        int r = h.handle(m1, 0, n, source, out, 0, scratch);
        assertTrue(r <= n, "answered " + r + " bytes to " + n);
        if (r > 0) {
            V2Handshake.readResponse(hs, out, 0, r, new byte[V2Wire.MAX_CAPABILITY_BLOCK]);
            c.session = hs.split();
            c.index = Wire.readInt(out, Wire.INDEX_OFFSET);
            c.counter = 0;
        }
    }
}
