package dev.natpunch.server;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;

/**
 * Session index to {@link Session}, bounded. Lookups are lock-free and allocation-free (no boxed
 * index); inserts and removals lock one of a fixed set of stripes.
 */
final class SessionTable {
    private static final int STRIPES = 64;
    /** Sequential candidates after the proposal before switching to random ones, so that clustered proposals cost little. */
    private static final int SEQUENTIAL_PROBES = 16;

    private final AtomicReferenceArray<Session> buckets;
    private final int mask;
    private final Object[] locks = new Object[STRIPES];
    private final AtomicInteger size = new AtomicInteger();
    private final int capacity;
    private final int seed = new SecureRandom().nextInt();

    SessionTable(int capacity) {
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

    Session get(int index) {
        int h = hash(index);
        for (Session s = buckets.get(h & mask); s != null; s = s.next) {
            if (s.index == index) {
                return s;
            }
        }
        return null;
    }

    /**
     * Creates and inserts a session under a free index: the proposal + 1 (what natpunch-go's server
     * answers), then the following indexes, then random ones.
     *
     * @return the new session, or null if the table is full
     */
    Session insert(int proposal, IntFunction<Session> factory) {
        if (size.incrementAndGet() > capacity) {
            size.decrementAndGet();
            return null;
        }
        for (int attempt = 0; ; attempt++) {
            int candidate = attempt < SEQUENTIAL_PROBES ? proposal + 1 + attempt : ThreadLocalRandom.current().nextInt();
            int h = hash(candidate);
            int bucket = h & mask;
            synchronized (locks[h & (STRIPES - 1)]) {
                boolean taken = false;
                for (Session s = buckets.get(bucket); s != null; s = s.next) {
                    if (s.index == candidate) {
                        taken = true;
                        break;
                    }
                }
                if (!taken) {
                    Session created = factory.apply(candidate);
                    created.next = buckets.get(bucket);
                    buckets.set(bucket, created);
                    return created;
                }
            }
        }
    }

    /** Unlinks {@code session} if it is still in the table. */
    boolean remove(Session session) {
        int h = hash(session.index);
        int bucket = h & mask;
        synchronized (locks[h & (STRIPES - 1)]) {
            Session prev = null;
            for (Session s = buckets.get(bucket); s != null; s = s.next) {
                if (s == session) {
                    if (prev == null) {
                        buckets.set(bucket, s.next);
                    } else {
                        prev.next = s.next;
                    }
                    size.decrementAndGet();
                    return true;
                }
                prev = s;
            }
        }
        return false;
    }

    /** Sessions older than {@code ttlMillis}, collected without locking; the caller retires them. */
    List<Session> expired(long nowMillis, long ttlMillis) {
        List<Session> out = new ArrayList<>();
        for (int b = 0; b < buckets.length(); b++) {
            for (Session s = buckets.get(b); s != null; s = s.next) {
                if (s.isExpired(nowMillis, ttlMillis)) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    private int hash(int index) {
        int h = (index ^ seed) * 0x9E3779B9;
        return h ^ h >>> 16;
    }
}
