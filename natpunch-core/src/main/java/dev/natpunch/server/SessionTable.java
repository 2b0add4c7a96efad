package dev.natpunch.server;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * Session index to {@link Session}, bounded. Lookups are lock-free and allocation-free (no boxed
 * index); inserts and removals lock one of a fixed set of stripes. Sessions that have not carried
 * a request yet are also on an idle list in creation order, from which a full table takes the
 * oldest to evict ({@link #takeOldestIdle}): what a handshake flood from random keys leaves
 * behind, since those keys never use their sessions.
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
    /** Guards the idle list (a session is on it while it is in the table and unused); taken last. */
    private final Object idleLock = new Object();
    private Session idleHead;
    private Session idleTail;

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
     * Takes one slot of the capacity for a session that {@link #insertReserved} will insert;
     * {@link #release} gives it back if that does not happen.
     *
     * @return false when the table is full
     */
    boolean reserve() {
        while (true) {
            int n = size.get();
            if (n >= capacity) {
                return false;
            }
            if (size.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Gives back a slot {@link #reserve} or {@link #removeKeepingSlot} handed out and nothing used. */
    void release() {
        size.decrementAndGet();
    }

    /**
     * Creates and inserts a session, in a slot reserved before, under a free index: the proposal
     * + 1 (what natpunch-go's server answers), then the following indexes, then random ones. It
     * starts on the idle list.
     */
    Session insertReserved(int proposal, IntFunction<Session> factory) {
        for (int attempt = 0; ; attempt++) {
            int candidate = attempt < SEQUENTIAL_PROBES ? proposal + 1 + attempt : ThreadLocalRandom.current().nextInt();
            int bucket = hash(candidate) & mask;
            synchronized (lock(bucket)) {
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
                    synchronized (idleLock) {
                        linkIdle(created);
                    }
                    return created;
                }
            }
        }
    }

    /** Unlinks {@code session} if it is still in the table. */
    boolean remove(Session session) {
        if (removeKeepingSlot(session)) {
            release();
            return true;
        }
        return false;
    }

    /**
     * Unlinks {@code session} if it is still in the table, and hands its slot to the caller, as
     * {@link #reserve} does, so that no other thread can take it first.
     */
    boolean removeKeepingSlot(Session session) {
        int bucket = hash(session.index) & mask;
        synchronized (lock(bucket)) {
            Session prev = null;
            for (Session s = buckets.get(bucket); s != null; s = s.next) {
                if (s == session) {
                    if (prev == null) {
                        buckets.set(bucket, s.next);
                    } else {
                        prev.next = s.next;
                    }
                    synchronized (idleLock) {
                        unlinkIdle(session);
                    }
                    return true;
                }
                prev = s;
            }
        }
        return false;
    }

    /** The session carried a request: it leaves the idle list for good. Cheap after the first call. */
    void markUsed(Session session) {
        if (session.used) {
            return;
        }
        synchronized (idleLock) {
            session.used = true;
            unlinkIdle(session);
        }
    }

    /**
     * Takes the oldest session that never carried a request and that {@code which} accepts, among
     * the {@code scan} oldest, off the idle list (the caller evicts it); null when there is none.
     */
    Session takeOldestIdle(Predicate<Session> which, int scan) {
        synchronized (idleLock) {
            Session s = idleHead;
            for (int i = 0; s != null && i < scan; i++, s = s.idleNext) {
                if (which.test(s)) {
                    unlinkIdle(s);
                    return s;
                }
            }
            return null;
        }
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

    private void linkIdle(Session s) {
        s.idlePrev = idleTail;
        s.idleNext = null;
        if (idleTail == null) {
            idleHead = s;
        } else {
            idleTail.idleNext = s;
        }
        idleTail = s;
    }

    /** Unlinks {@code s} from the idle list if it is on it. */
    private void unlinkIdle(Session s) {
        if (s.idlePrev == null && idleHead != s) {
            return;
        }
        if (s.idlePrev == null) {
            idleHead = s.idleNext;
        } else {
            s.idlePrev.idleNext = s.idleNext;
        }
        if (s.idleNext == null) {
            idleTail = s.idlePrev;
        } else {
            s.idleNext.idlePrev = s.idlePrev;
        }
        s.idlePrev = null;
        s.idleNext = null;
    }

    private Object lock(int bucket) {
        return locks[bucket & (STRIPES - 1)];
    }

    private int hash(int index) {
        int h = (index ^ seed) * 0x9E3779B9;
        return h ^ h >>> 16;
    }
}
