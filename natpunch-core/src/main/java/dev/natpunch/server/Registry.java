package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Client key to {@link Registration}, bounded. Lookups by the 32 raw key bytes of a decrypted
 * request are lock-free and allocation-free; inserts and removals lock one of a fixed set of
 * stripes (the stripe of a bucket), and then, to mark a registration removed, its monitor. The
 * hash is keyed with a random per-server seed so that clients, who choose their keys, cannot aim
 * many keys at one bucket. A bucket costs one reference; the table has at most 2^20 of them.
 */
final class Registry {
    private static final int STRIPES = 64;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

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
            if (r.hash == h && r.keyEquals(key, off)) {
                return r;
            }
        }
        return null;
    }

    /**
     * The registration for the key at {@code key[off..off+32)}, created (with no endpoint yet) if
     * absent; null when full.
     */
    Registration findOrCreate(byte[] key, int off, long nowMillis) {
        int h = hash(key, off);
        int bucket = h & mask;
        synchronized (lock(bucket)) {
            for (Registration r = buckets.get(bucket); r != null; r = r.next) {
                if (r.hash == h && r.keyEquals(key, off)) {
                    return r;
                }
            }
            if (size.get() >= capacity) {
                return null;
            }
            Registration r = new Registration(Arrays.copyOfRange(key, off, off + Key.LENGTH), h, nowMillis);
            r.next = buckets.get(bucket);
            buckets.set(bucket, r);
            size.incrementAndGet();
            return r;
        }
    }

    /**
     * Removes {@code r} if it is still registered and {@code condition} holds for it (checked with
     * its monitor held). {@code onRemove} runs under the monitor, after it is marked removed.
     *
     * @return whether it was removed
     */
    boolean remove(Registration r, Predicate<Registration> condition, Consumer<Registration> onRemove) {
        int bucket = r.hash & mask;
        synchronized (lock(bucket)) {
            synchronized (r) {
                if (r.removed || !condition.test(r)) {
                    return false;
                }
                markRemoved(r, onRemove);
            }
            Registration prev = null;
            for (Registration x = buckets.get(bucket); x != null; x = x.next) {
                if (x == r) {
                    unlink(bucket, prev, x);
                    return true;
                }
                prev = x;
            }
            throw new IllegalStateException("a registration not marked removed was not in its bucket");
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
            synchronized (lock(b)) {
                Registration prev = null;
                for (Registration r = buckets.get(b); r != null; r = r.next) {
                    boolean gone = false;
                    if (r.isExpired(nowMillis, ttlMillis)) {
                        synchronized (r) {
                            if (r.isExpired(nowMillis, ttlMillis)) {
                                markRemoved(r, onRemove);
                                gone = true;
                            }
                        }
                    }
                    if (gone) {
                        unlink(b, prev, r);
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

    private static void markRemoved(Registration r, Consumer<Registration> onRemove) {
        r.removed = true;
        r.forgetSsLocked();
        onRemove.accept(r);
    }

    private void unlink(int bucket, Registration prev, Registration r) {
        if (prev == null) {
            buckets.set(bucket, r.next);
        } else {
            prev.next = r.next;
        }
        size.decrementAndGet();
    }

    private Object lock(int bucket) {
        return locks[bucket & (STRIPES - 1)];
    }

    private int hash(byte[] k, int off) {
        long h = seed;
        for (int i = 0; i < Key.LENGTH; i += 8) {
            h = (h ^ (long) LONGS.get(k, off + i)) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 32;
        }
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ h >>> 31);
    }
}
