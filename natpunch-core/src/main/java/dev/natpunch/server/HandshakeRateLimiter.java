package dev.natpunch.server;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * Token buckets for handshake initiations, one per source address (IPv4 address, or IPv6 /64
 * prefix, since one host commonly holds a whole /64), checked before the costly Noise work.
 *
 * <p>Memory is bounded: a bucket is forgotten once it has been idle long enough to be full again
 * (it is then indistinguishable from a new one), and the table holds at most {@code maxSources}
 * buckets. When it is full of buckets still in use, new sources share one overflow bucket with the
 * same rate and burst, so a flood from more distinct (spoofed) addresses than the table holds gets
 * at most about {@code maxSources / refillTime + rate} handshakes per second through, however
 * many addresses it uses.
 *
 * <p>Thread-safe (one lock: a check is a hash lookup, far cheaper than the handshake it guards).
 */
final class HandshakeRateLimiter {
    /** Enough for every client of a large deployment re-handshaking within one refill time. */
    static final int DEFAULT_MAX_SOURCES = 8192;
    /** Evicting a few idle buckets per new source keeps the table's upkeep O(1) per datagram. */
    private static final int EVICTIONS_PER_INSERT = 4;

    private static final class Bucket {
        double tokens;
        long lastMillis;

        Bucket(double tokens, long lastMillis) {
            this.tokens = tokens;
            this.lastMillis = lastMillis;
        }
    }

    private final double tokensPerMilli;
    private final double burst;
    private final int maxSources;
    private final long refillMillis;
    /** Access order: the eldest entry is the longest idle, so eviction stops at the first busy one. */
    private final LinkedHashMap<Long, Bucket> buckets = new LinkedHashMap<>(64, 0.75f, true);
    private final Bucket overflow;

    /**
     * @param perSecond tokens added per second, positive
     * @param burst bucket size, at least 1
     * @param maxSources cap on per-source buckets, at least 1
     */
    HandshakeRateLimiter(double perSecond, int burst, int maxSources, long nowMillis) {
        if (!(perSecond > 0) || burst < 1 || maxSources < 1) {
            throw new IllegalArgumentException("rate " + perSecond + ", burst " + burst + ", sources " + maxSources);
        }
        this.tokensPerMilli = perSecond / 1000.0;
        this.burst = burst;
        this.maxSources = maxSources;
        this.refillMillis = Math.max(1, (long) Math.ceil(burst / tokensPerMilli));
        this.overflow = new Bucket(burst, nowMillis);
    }

    /** Takes one token for a handshake from {@code source}; false when its bucket is empty. */
    synchronized boolean tryAcquire(InetAddress source, long nowMillis) {
        Long key = key(source);
        Bucket b = buckets.get(key);
        if (b == null) {
            evictIdle(nowMillis);
            if (buckets.size() < maxSources) {
                b = new Bucket(burst, nowMillis);
                buckets.put(key, b);
            } else {
                b = overflow;
            }
        }
        return take(b, nowMillis);
    }

    private boolean take(Bucket b, long nowMillis) {
        long elapsed = nowMillis - b.lastMillis;
        if (elapsed > 0) {
            b.tokens = Math.min(burst, b.tokens + elapsed * tokensPerMilli);
        }
        // A clock that steps back must not freeze the bucket until it catches up again.
        b.lastMillis = nowMillis;
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return true;
        }
        return false;
    }

    private void evictIdle(long nowMillis) {
        Iterator<Bucket> it = buckets.values().iterator();
        for (int i = 0; i < EVICTIONS_PER_INSERT && it.hasNext(); i++) {
            if (nowMillis - it.next().lastMillis < refillMillis) {
                return;
            }
            it.remove();
        }
    }

    synchronized int size() {
        return buckets.size();
    }

    int maxSources() {
        return maxSources;
    }

    /** IPv4 by address, IPv6 by /64 prefix; they cannot collide: IPv4 keys look like ffff:ffff::/32, multicast, never a source. */
    private static Long key(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            return 0xFFFF_FFFF_0000_0000L | (((b[0] & 0xFFL) << 24) | ((b[1] & 0xFFL) << 16) | ((b[2] & 0xFFL) << 8) | (b[3] & 0xFFL));
        }
        long prefix = 0;
        for (int i = 0; i < 8; i++) {
            prefix = prefix << 8 | (b[i] & 0xFFL);
        }
        return prefix;
    }
}
