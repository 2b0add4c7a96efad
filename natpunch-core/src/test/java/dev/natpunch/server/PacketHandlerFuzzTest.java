package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.fuzz.FuzzKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Wire;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * Fuzz targets for the server's datagram handler. Invariants after every datagram: nothing throws
 * (the handler counts an unexpected exception as INTERNAL_ERROR, so that count must stay 0), no
 * answer is longer than its request (no amplification), and the tables stay within their caps,
 * which are tiny here so that the full-table paths are reached.
 */
class PacketHandlerFuzzTest {
    private static final int MAX_REGISTRATIONS = 4;
    private static final int MAX_SESSIONS = 5;
    private static final InetSocketAddress[] SOURCES;
    private static final KeyPair[] CLIENTS = {FuzzKeys.CLIENT, FuzzKeys.PEER, KeyPair.generate(), KeyPair.generate(),
        KeyPair.generate(), KeyPair.generate()};

    static {
        try {
            SOURCES = new InetSocketAddress[] {
                new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820),
                new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 1),
                new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 65535),
                new InetSocketAddress(InetAddress.getByName("2001:db8::1"), 51820),
                new InetSocketAddress(InetAddress.getByName("::ffff:198.18.0.3"), 4000),
            };
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** With a tight handshake rate limit, so that the fuzzer's clock jumps decide what gets through. */
    private static PacketHandler handler(MutableClock clock) {
        return new PacketHandler(ServerConfigs.forTest(FuzzKeys.SERVER, clock, MAX_REGISTRATIONS, MAX_SESSIONS, 1, 6));
    }

    /** One datagram, as anyone on the internet could send it, to a fresh server. */
    @FuzzTest(maxDuration = "60s")
    void singleDatagram(byte[] d) {
        PacketHandler h = handler(new MutableClock(Instant.parse("2026-11-25T12:00:00Z")));
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        int n = h.handle(d, 0, d.length, SOURCES[0], out, 0, new PacketHandler.Scratch());
        assertTrue(n <= d.length, "answered " + n + " bytes to " + d.length);
        assertEquals(0, h.metrics().drops(DropReason.INTERNAL_ERROR));
    }

    /** A legitimate client as the fuzzer drives it: it handshakes and looks up with real keys. */
    private static final class Client {
        final KeyPair keys;
        NoiseHandshake pending;
        TransportKeys session;
        int index;
        long counter;
        long timestamp = 1;

        Client(KeyPair keys) {
            this.keys = keys;
        }
    }

    /**
     * Arbitrary datagrams from arbitrary sources interleaved with legitimate handshakes and lookups
     * (and replays, corruptions and truncations of them, and jumps of the clock), so that the deep
     * paths (sessions, replay windows, expiry, full tables) are reached.
     */
    @FuzzTest(maxDuration = "60s")
    void interleaved(FuzzedDataProvider data) {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
        PacketHandler h = handler(clock);
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        Client[] clients = new Client[CLIENTS.length];
        for (int i = 0; i < clients.length; i++) {
            clients[i] = new Client(CLIENTS[i]);
        }
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        byte[] last = null;
        for (int step = 0; step < 48 && data.remainingBytes() > 0; step++) {
            InetSocketAddress source = SOURCES[data.consumeInt(0, SOURCES.length - 1)];
            byte[] d;
            Client sender = null;
            switch (data.consumeInt(0, 7)) {
                case 0:
                    d = data.consumeBytes(data.consumeInt(0, 120));
                    break;
                case 1: {
                    sender = clients[data.consumeInt(0, clients.length - 1)];
                    sender.pending = NoiseHandshake.initiator(sender.keys, FuzzKeys.SERVER.publicKey(),
                            NoiseHandshake.NATPUNCH_PROLOGUE);
                    d = new byte[Wire.INITIATION_LENGTH];
                    long ts = data.consumeBoolean() ? ++sender.timestamp : data.consumeLong();
                    HandshakeInitiation.encode(sender.pending, data.consumeInt(), ts, new byte[8], d, 0);
                    break;
                }
                case 2: {
                    sender = clients[data.consumeInt(0, clients.length - 1)];
                    if (sender.session == null) {
                        continue;
                    }
                    Key peer = data.consumeBoolean() ? clients[data.consumeInt(0, clients.length - 1)].keys.publicKey()
                            : Key.fromBytes(Arrays.copyOf(data.consumeBytes(32), 32));
                    long counter = data.consumeBoolean() ? sender.counter++ : data.consumeLong(0, sender.counter + 3000);
                    d = new byte[Wire.LOOKUP_REQUEST_LENGTH];
                    LookupRequest.encode(sender.session.sender(), sender.index, counter, sender.keys.publicKey(), peer,
                            new byte[64], d, 0);
                    break;
                }
                case 3:
                    if (last == null) {
                        continue;
                    }
                    d = last.clone();
                    d[data.consumeInt(0, d.length - 1)] ^= (byte) data.consumeInt(1, 255);
                    break;
                case 4:
                    if (last == null) {
                        continue;
                    }
                    d = last.clone();
                    break;
                case 5:
                    if (last == null) {
                        continue;
                    }
                    d = Arrays.copyOf(last, data.consumeInt(0, last.length + 20));
                    break;
                case 6:
                    clock.advance(Duration.ofMillis(data.consumeLong(0, 3 * 3600_000)));
                    continue;
                default:
                    h.sweep();
                    continue;
            }
            int n = h.handle(d, 0, d.length, source, out, 0, scratch);
            assertTrue(n <= d.length, "answered " + n + " bytes to " + d.length);
            assertEquals(0, h.metrics().drops(DropReason.INTERNAL_ERROR));
            assertTrue(h.registry.size() <= MAX_REGISTRATIONS, "registrations " + h.registry.size());
            assertTrue(h.sessions.size() <= MAX_SESSIONS, "sessions " + h.sessions.size());
            assertTrue(h.limiter.size() <= h.limiter.maxSources());
            if (sender != null && n > 0) {
                accept(sender, d, Arrays.copyOf(out, n));
            }
            if (d.length > 0) {
                last = d;
            }
        }
    }

    /** The legitimate client takes the answer: it must authenticate, as the server sent it to the right client. */
    private static void accept(Client c, byte[] request, byte[] answer) {
        if (request[0] == Wire.TYPE_HANDSHAKE_INITIATION) {
            assertEquals(Wire.RESPONSE_LENGTH, answer.length);
            try {
                HandshakeResponse.read(c.pending, answer, 0, new byte[Wire.RESPONSE_LENGTH]);
            } catch (HandshakeException e) {
                throw new AssertionError("the server's handshake response does not authenticate", e);
            }
            c.session = c.pending.split();
            c.index = HandshakeResponse.assignedIndex(answer, 0);
            c.counter = 0;
        } else {
            int plain = LookupResponse.open(c.session.receiver(), answer, 0, answer.length, new byte[6]);
            assertTrue(plain >= 0, "the server's lookup response does not authenticate");
        }
    }
}
