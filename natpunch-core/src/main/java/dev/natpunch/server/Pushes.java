package dev.natpunch.server;

import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Push updates (protocol-v2.md 6.3) for the whole server: which sessions subscribe to which key,
 * and the one push thread that builds, seals, sends and retransmits pushes. A change of a key's
 * endpoint set is handed to that thread, so that no worker ever sends while holding a lock.
 * Subscriptions are capped per session and in total; each {@link PushState} bounds its own queue.
 */
final class Pushes implements AutoCloseable {
    static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);

    /** Sends one datagram from the server's primary socket of the destination's family. */
    interface Sender {
        void send(byte[] d, int off, int len, InetSocketAddress to) throws IOException;
    }

    /** Writes a push entry for a key at {@code pos} of {@code p}; returns where it ends. */
    interface EntryWriter {
        int write(byte[] p, int pos, KeyRef key, int want, Session subscriber, long now);

        /** Whether {@code subscriber} may see {@code key} now (allow-list, mutual mode). */
        boolean visible(Session subscriber, KeyRef key);
    }

    private final PacketHandler server;
    private final int perSessionCap;
    private final long totalCap;
    private final AtomicLong total = new AtomicLong();
    private final ConcurrentHashMap<KeyRef, Set<PushState>> index = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final LongAdder sent = new LongAdder();
    /** The push thread's buffers. */
    private final byte[] plain = new byte[V2Wire.MAX_PLAINTEXT + Push.ENTRY_HEADER_LENGTH
            + V2Wire.MAX_ENDPOINTS_PER_PEER * 19];
    private final byte[] datagram = new byte[V2Wire.MAX_DATAGRAM];
    private volatile Sender sender;
    private volatile ScheduledThreadPoolExecutor thread;

    Pushes(PacketHandler server, int perSessionCap, long totalCap) {
        this.server = server;
        this.perSessionCap = perSessionCap;
        this.totalCap = totalCap;
    }

    /** Starts the push thread; until then (and without a socket, as in benchmarks) PUSH is not offered. */
    void start(Sender sender, String threadName) {
        ScheduledThreadPoolExecutor exec = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        exec.setRemoveOnCancelPolicy(true);
        exec.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.sender = sender;
        this.thread = exec;
    }

    boolean enabled() {
        return thread != null;
    }

    int perSessionCap() {
        return perSessionCap;
    }

    long total() {
        return total.get();
    }

    long sent() {
        return sent.sum();
    }

    /** Takes (or with a negative {@code n}, gives back) room for subscriptions under the total cap. */
    boolean reserve(int n) {
        while (true) {
            long t = total.get();
            if (n > 0 && t + n > totalCap) {
                return false;
            }
            if (total.compareAndSet(t, t + n)) {
                return true;
            }
        }
    }

    void index(KeyRef key, PushState s) {
        index.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(s);
    }

    void unindex(KeyRef key, PushState s) {
        index.computeIfPresent(key, (k, set) -> {
            set.remove(s);
            return set.isEmpty() ? null : set;
        });
    }

    /** Subscribed keys, for tests of the bounds. */
    int indexedKeys() {
        return index.size();
    }

    /** {@code reg}'s endpoint set (or visibility) changed; any thread, any lock held. */
    void changed(Registration reg) {
        ScheduledThreadPoolExecutor t = thread;
        if (t == null || index.isEmpty()) {
            return;
        }
        KeyRef k = KeyRef.of(reg.keyBytes, 0);
        submit(() -> fanOut(k), t);
    }

    /** Asks the push thread to look at a session (after an ack, a new address, ...). */
    void wake(PushState s) {
        ScheduledThreadPoolExecutor t = thread;
        if (t != null && s.queueFlush()) {
            submit(() -> s.flush(server.clock.millis(), server.sealed, plain), t);
        }
    }

    private void fanOut(KeyRef key) {
        Set<PushState> subscribers = index.get(key);
        if (subscribers == null) {
            return;
        }
        long now = server.clock.millis();
        for (PushState s : subscribers) {
            if (s.due(key)) {
                s.flush(now, server.sealed, plain);
            }
        }
    }

    int newPushId() {
        return random.nextInt();
    }

    /** Seals and sends one copy of {@code f} (its monitor is held), and schedules the next. */
    void transmit(PushState s, PushState.InFlight f) {
        Session session = s.session;
        if (session.removed) {
            return;
        }
        long counter = session.nextSendCounter();
        int n = Sealed.seal(session.sender, V2Wire.TYPE_SEALED_TO_CLIENT, session.index, counter, f.plain, 0,
                f.plain.length, 0, datagram, 0);
        if (session.removed) {
            return;
        }
        // Counted before it leaves, so that the count never lags behind what a client has seen.
        sent.increment();
        try {
            sender.send(datagram, 0, n, f.to);
        } catch (IOException | RuntimeException e) {
            sent.decrement();
            server.countSendFailure(f.to);
        }
        ScheduledThreadPoolExecutor t = thread;
        if (t != null) {
            try {
                t.schedule(() -> s.retransmit(f), f.interval, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                // the server is closing
            }
        }
    }

    private static void submit(Runnable task, ScheduledThreadPoolExecutor t) {
        try {
            t.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    log.warn("Push processing failed; the server keeps serving", e);
                }
            });
        } catch (RejectedExecutionException closing) {
            // the server is closing
        }
    }

    /** A 64-bit digest of an entry's count and endpoints, never 0 (which means "nothing sent yet"). */
    static long digest(byte[] p, int from, int to) {
        long h = 0xcbf29ce484222325L;
        for (int i = from; i < to; i++) {
            h = (h ^ (p[i] & 0xff)) * 0x100000001b3L;
        }
        return h == 0 ? 1 : h;
    }

    @Override
    public void close() {
        ScheduledThreadPoolExecutor t = thread;
        if (t != null) {
            t.shutdownNow();
            try {
                t.awaitTermination(500, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
