package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;

/**
 * Client key to {@link Registration}, bounded. Lookups by the 32 raw key bytes of a decrypted
 * request are lock-free and allocation-free; inserts and removals lock one of a fixed set of
 * stripes. The hash is keyed with a random per-server seed so that clients, who choose their keys,
 * cannot aim many keys at one bucket.
 */
final class Registry {
    private static final int STRIPES = 64;

    private final AtomicReferenceArray<Registration> buckets;
    private final int mask;
    private final Object[] locks = new Object[STRIPES];
    private final AtomicInteger size = new AtomicInteger();
    private final int capacity;
    private final long seed = new SecureRandom().nextLong();

    Registry(int capacity) {
        this.capacity = capacity;
        int n = Integer.highestOneBit(Math.max(16, Math.min(capacity, 1 << 20)) - 1) << 1;
        this.buckets = new AtomicReferenceArray<>(n);
        this.mask = n - 1;
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new Object();
        }
    }

    int size() {
        return size.get();
    }

    int capacity() {
        return capacity;
    }

    /** The registration for the key at {@code key[off..off+32)}, or null; may be one just removed. */
    Registration find(byte[] key, int off) {
        int h = hash(key, off);
        for (Registration r = buckets.get(h & mask); r != null; r = r.next) {
            if (r.hash == h && r.key.equalsBytes(key, off)) {
                return r;
            }
        }
        return null;
    }

    /** The registration for {@code key}, created (with no endpoint yet) if absent; null when full. */
    Registration findOrCreate(Key key, long nowMillis) {
        byte[] k = key.toBytes();
        int h = hash(k, 0);
        int bucket = h & mask;
        synchronized (locks[h & (STRIPES - 1)]) {
            for (Registration r = buckets.get(bucket); r != null; r = r.next) {
                if (r.hash == h && r.key.equalsBytes(k, 0)) {
                    return r;
                }
            }
            if (size.get() >= capacity) {
                return null;
            }
            Registration r = new Registration(key, h, nowMillis);
            r.next = buckets.get(bucket);
            buckets.set(bucket, r);
            size.incrementAndGet();
            return r;
        }
    }

    /**
     * Removes every registration idle for longer than {@code ttlMillis}. {@code onRemove} runs while
     * the registration's monitor is held, after it is marked removed, so that it can retire the
     * registration's session.
     *
     * @return how many were removed
     */
    int sweep(long nowMillis, long ttlMillis, Consumer<Registration> onRemove) {
        int removed = 0;
        for (int b = 0; b < buckets.length(); b++) {
            if (buckets.get(b) == null) {
                continue;
            }
            synchronized (locks[b & (STRIPES - 1)]) {
                Registration prev = null;
                for (Registration r = buckets.get(b); r != null; r = r.next) {
                    boolean gone = false;
                    if (r.isExpired(nowMillis, ttlMillis)) {
                        synchronized (r) {
                            if (r.isExpired(nowMillis, ttlMillis)) {
                                r.removed = true;
                                onRemove.accept(r);
                                gone = true;
                            }
                        }
                    }
                    if (gone) {
                        if (prev == null) {
                            buckets.set(b, r.next);
                        } else {
                            prev.next = r.next;
                        }
                        size.decrementAndGet();
                        removed++;
                    } else {
                        prev = r;
                    }
                }
            }
        }
        return removed;
    }

    /** Visits every registration without locking; one inserted or removed meanwhile may be missed or seen. */
    void forEach(Consumer<Registration> action) {
        for (int b = 0; b < buckets.length(); b++) {
            for (Registration r = buckets.get(b); r != null; r = r.next) {
                action.accept(r);
            }
        }
    }

    private int hash(byte[] k, int off) {
        long h = seed;
        for (int i = 0; i < 32; i += 8) {
            long v = 0;
            for (int j = 0; j < 8; j++) {
                v = v << 8 | (k[off + i + j] & 0xff);
            }
            h = (h ^ v) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 32;
        }
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ h >>> 31);
    }
}
