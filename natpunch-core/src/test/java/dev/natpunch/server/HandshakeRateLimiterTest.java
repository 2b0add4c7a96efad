package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.Wire;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class HandshakeRateLimiterTest {
    private static final long T0 = 1_000_000L;

    private static InetAddress ip(String s) throws UnknownHostException {
        return InetAddress.getByName(s);
    }

    private static int taken(HandshakeRateLimiter l, InetAddress a, long now, int attempts) {
        int n = 0;
        for (int i = 0; i < attempts; i++) {
            if (l.tryAcquire(a, now)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void burstThenSteadyRate() throws Exception {
        HandshakeRateLimiter l = new HandshakeRateLimiter(20, 40, 100, T0);
        InetAddress a = ip("198.18.0.1");
        assertEquals(40, taken(l, a, T0, 100));
        assertEquals(0, taken(l, a, T0 + 49, 10), "less than one token refilled after 49 ms");
        assertEquals(1, taken(l, a, T0 + 50, 10), "one token per 50 ms at 20/s");
        assertEquals(20, taken(l, a, T0 + 1050, 100), "20 more after one more second");
        assertEquals(40, taken(l, a, T0 + 1_000_000, 100), "refill stops at the burst");
    }

    @Test
    void sourcesAreIndependent() throws Exception {
        HandshakeRateLimiter l = new HandshakeRateLimiter(1, 2, 100, T0);
        assertEquals(2, taken(l, ip("198.18.0.1"), T0, 5));
        assertEquals(2, taken(l, ip("198.18.0.2"), T0, 5));
        assertEquals(0, taken(l, ip("198.18.0.1"), T0, 5));
    }

    @Test
    void ipv6SourcesShareTheirSlash64() throws Exception {
        HandshakeRateLimiter l = new HandshakeRateLimiter(1, 2, 100, T0);
        assertEquals(2, taken(l, ip("2001:db8:1:2::1"), T0, 5));
        assertEquals(0, taken(l, ip("2001:db8:1:2:ffff::9"), T0, 5), "same /64");
        assertEquals(2, taken(l, ip("2001:db8:1:3::1"), T0, 5), "another /64");
        assertEquals(2, taken(l, ip("0.0.0.1"), T0, 5), "IPv4 keys never meet IPv6 ones");
    }

    @Test
    void aClockSteppingBackNeitherRefillsNorFreezes() throws Exception {
        HandshakeRateLimiter l = new HandshakeRateLimiter(10, 1, 100, T0);
        InetAddress a = ip("198.18.0.1");
        assertEquals(1, taken(l, a, T0, 3));
        assertEquals(0, taken(l, a, T0 - 3_600_000, 3), "stepping back an hour gives no tokens");
        assertEquals(1, taken(l, a, T0 - 3_600_000 + 100, 3), "and refill resumes from the new time");
    }

    @Test
    void tableIsCappedAndFullTableFallsBackToOneSharedBucket() throws Exception {
        HandshakeRateLimiter l = new HandshakeRateLimiter(1, 3, 50, T0);
        for (int i = 0; i < 50; i++) {
            assertTrue(l.tryAcquire(ip("198.18.1." + i), T0));
        }
        assertEquals(50, l.size());
        // A spoofed flood from 10,000 more addresses: no memory growth, and together they get only
        // the overflow bucket's burst.
        int through = 0;
        for (int i = 0; i < 10_000; i++) {
            if (l.tryAcquire(ip("198.19." + (i >> 8) + "." + (i & 255)), T0 + 1)) {
                through++;
            }
        }
        assertEquals(3, through);
        assertEquals(50, l.size());
        // Sources that have a bucket keep their own budget during the flood.
        assertEquals(2, taken(l, ip("198.18.1.7"), T0 + 1, 10));
    }

    @Test
    void idleBucketsAreForgottenOnceFull() throws Exception {
        HandshakeRateLimiter l = new HandshakeRateLimiter(1, 3, 50, T0);
        for (int i = 0; i < 50; i++) {
            l.tryAcquire(ip("198.18.1." + i), T0);
        }
        // Refill time is burst/rate = 3 s: before it, the table is still full of live buckets.
        assertEquals(3, taken(l, ip("198.19.0.1"), T0 + 2999, 10), "the overflow bucket");
        assertEquals(0, taken(l, ip("198.19.0.2"), T0 + 2999, 10), "shared");
        long later = T0 + 3000;
        assertEquals(3, taken(l, ip("198.19.0.3"), later, 10), "an idle bucket made room for a new source");
        assertTrue(l.size() <= 50);
        for (int i = 0; i < 100; i++) {
            l.tryAcquire(ip("198.20.0." + i), later);
        }
        assertEquals(50, l.size());
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new HandshakeRateLimiter(0, 1, 1, T0));
        assertThrows(IllegalArgumentException.class, () -> new HandshakeRateLimiter(1, 0, 1, T0));
        assertThrows(IllegalArgumentException.class, () -> new HandshakeRateLimiter(Double.NaN, 1, 1, T0));
        RendezvousServer.Builder b = RendezvousServer.builder();
        assertThrows(IllegalArgumentException.class, () -> b.handshakeRateLimit(-1, 5));
        assertThrows(IllegalArgumentException.class, () -> b.handshakeRateLimit(Double.POSITIVE_INFINITY, 5));
        assertThrows(IllegalArgumentException.class, () -> b.handshakeRateLimit(5, 0));
        b.handshakeRateLimit(0, 0);
    }

    /** The handler drops excess initiations before decrypting them, counts them, and lets lookups be. */
    @Test
    void handlerDropsExcessInitiationsAsRateLimited() throws Exception {
        KeyPair server = KeyPair.generate();
        MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
        PacketHandler h = new PacketHandler(ServerConfigs.rateLimited(server, clock, 2, 3));
        InetSocketAddress from = new InetSocketAddress(ip("198.18.0.1"), 5000);
        InetSocketAddress other = new InetSocketAddress(ip("198.18.0.2"), 5000);
        KeyPair client = KeyPair.generate();
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        long ts = 1;
        int answered = 0;
        for (int i = 0; i < 5; i++) {
            byte[] m1 = initiation(client, server, ts++);
            if (h.handle(m1, 0, m1.length, from, out, 0, scratch) > 0) {
                answered++;
            }
        }
        assertEquals(3, answered);
        assertEquals(2, h.metrics().drops(DropReason.RATE_LIMITED));
        assertEquals(0, h.metrics().handshakesFailed(), "rate-limited initiations are never decrypted");
        // Garbage of the right length also costs a token: the limit is checked before the Noise work.
        byte[] junk = new byte[Wire.INITIATION_LENGTH];
        junk[0] = Wire.TYPE_HANDSHAKE_INITIATION;
        assertEquals(-1, h.handle(junk, 0, junk.length, from, out, 0, scratch));
        assertEquals(3, h.metrics().drops(DropReason.RATE_LIMITED));
        byte[] m1 = initiation(client, server, ts++);
        assertTrue(h.handle(m1, 0, m1.length, other, out, 0, scratch) > 0, "another source has its own bucket");
        clock.advance(Duration.ofMillis(500));
        m1 = initiation(client, server, ts++);
        assertTrue(h.handle(m1, 0, m1.length, from, out, 0, scratch) > 0, "one token back after 0.5 s at 2/s");
        assertFalse(h.handle(m1, 0, m1.length, from, out, 0, scratch) > 0);
        assertEquals(4, h.metrics().drops(DropReason.RATE_LIMITED));
    }

    @Test
    void zeroDisablesTheLimit() throws Exception {
        KeyPair server = KeyPair.generate();
        MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
        PacketHandler h = new PacketHandler(ServerConfigs.rateLimited(server, clock, 0, 0));
        InetSocketAddress from = new InetSocketAddress(ip("198.18.0.1"), 5000);
        KeyPair client = KeyPair.generate();
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        for (int i = 1; i <= 60; i++) {
            byte[] m1 = initiation(client, server, i);
            assertEquals(Wire.RESPONSE_LENGTH, h.handle(m1, 0, m1.length, from, out, 0, new PacketHandler.Scratch()));
        }
        assertEquals(0, h.metrics().drops(DropReason.RATE_LIMITED));
    }

    private static byte[] initiation(KeyPair client, KeyPair server, long timestamp) {
        NoiseHandshake hs = NoiseHandshake.initiator(client, server.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, 1, timestamp, new byte[8], m1, 0);
        return m1;
    }
}
