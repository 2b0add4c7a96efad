package dev.natpunch.bench.server;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.server.InternalPacketHandler;
import dev.natpunch.server.RendezvousServer;
import dev.natpunch.server.ServerMetrics;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The rendezvous server's heap per registered key, measured through its real registration path:
 * every key is a new client whose handshake (message 1 made as a client makes it) goes through the
 * server's packet handler, which registers the key at a distinct IPv4 address and port and gives
 * it a session, exactly as for a datagram from the socket. Then:
 *
 * <ol>
 *   <li>live heap after a full GC, minus the live heap before the handler existed (so its tables
 *       count), per key: <b>a registered key with its session</b>;</li>
 *   <li>the handler's clock moves past the session lifetime (10 minutes) but not the
 *       registration's (30), and its expiry sweep runs, as the server's sweeper would: the
 *       sessions are gone, the registrations stay; heap per key again: <b>a registered key</b>.</li>
 * </ol>
 *
 * <p>The session cap is raised to the number of keys for the measurement (the server's default is
 * 100,000 sessions, so a million keys cannot all hold one at once); its empty bucket array stays
 * counted in step 2 (4 bytes per slot, 2^20 slots at most).
 *
 * <pre>
 * java -cp natpunch-bench/target/benchmarks.jar dev.natpunch.bench.server.RegistrationMemory \
 *     [--keys 1000000] [--threads N] [--protocol 1|2]
 * </pre>
 *
 * {@code --protocol 2} makes every client offer version 2 with all its features, PUSH included
 * (answered as by a server with sockets), so that its session carries push state; 1 is what
 * natpunch-go's clients do.
 */
public final class RegistrationMemory {
    private RegistrationMemory() {
    }

    /** A clock the measurement moves by hand. */
    private static final class SteppedClock extends Clock {
        private final AtomicLong millis = new AtomicLong(Instant.parse("2026-12-01T00:00:00Z").toEpochMilli());

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }
    }

    public static void main(String[] args) throws Exception {
        int keys = 1_000_000;
        int threads = Runtime.getRuntime().availableProcessors();
        int protocol = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--keys": keys = Integer.parseInt(args[++i]); break;
                case "--threads": threads = Integer.parseInt(args[++i]); break;
                case "--protocol": protocol = Integer.parseInt(args[++i]); break;
                default:
                    System.err.println("usage: RegistrationMemory [--keys N] [--threads N] [--protocol 1|2]");
                    System.exit(2);
                    return;
            }
        }
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        KeyPair serverKeys = KeyPair.generate();
        SteppedClock clock = new SteppedClock();
        System.out.printf(Locale.ROOT, "%d keys, %d threads, protocol version %d; JDK %s, max heap %d MB%n", keys,
                threads, protocol, System.getProperty("java.runtime.version"),
                Runtime.getRuntime().maxMemory() >> 20);

        long heap0 = usedHeapAfterGc(memory);
        InternalPacketHandler handler = InternalPacketHandler.create(serverKeys, clock,
                RendezvousServer.DEFAULT_MAX_REGISTRATIONS, Math.max(keys, RendezvousServer.DEFAULT_MAX_SESSIONS));
        if (protocol == 2) {
            handler.offerPushes();
        }
        long start = System.nanoTime();
        register(handler, serverKeys, keys, threads, protocol);
        ServerMetrics m = handler.metrics();
        System.out.printf(Locale.ROOT, "registered in %.0f s: %s%n", (System.nanoTime() - start) / 1e9, m);
        if (m.registrations() != keys || m.sessions() != keys) {
            throw new IllegalStateException("expected " + keys + " registrations and sessions: " + m + " " + m.drops());
        }
        long heap1 = usedHeapAfterGc(memory);

        clock.advance(RendezvousServer.DEFAULT_SESSION_TTL.plusMinutes(1));
        handler.sweep();
        m = handler.metrics();
        if (m.registrations() != keys || m.sessions() != 0) {
            throw new IllegalStateException("expected " + keys + " registrations without sessions: " + m);
        }
        long heap2 = usedHeapAfterGc(memory);

        System.out.printf(Locale.ROOT, "live heap after a full GC: %.1f MB before the handler, %.1f MB with %d keys and"
                + " their sessions, %.1f MB once the sessions expired%n", heap0 / 1e6, heap1 / 1e6, keys, heap2 / 1e6);
        System.out.printf(Locale.ROOT, "per registered key with its session: %.0f bytes%n", (double) (heap1 - heap0) / keys);
        System.out.printf(Locale.ROOT, "per registered key:                  %.0f bytes   (target <= 200)%n",
                (double) (heap2 - heap0) / keys);
        System.out.printf(Locale.ROOT, "so a session costs:                  %.0f bytes%n", (double) (heap1 - heap2) / keys);
        handler.close();
    }

    /** Hands out distinct sources: 198.18.0.0/15 by 50,000 ports each. */
    private static InetSocketAddress source(int i) throws UnknownHostException {
        int ip = 0xC6120000 + i / 50_000;
        byte[] a = {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
        return new InetSocketAddress(InetAddress.getByAddress(a), 1024 + i % 50_000);
    }

    private static void register(InternalPacketHandler handler, KeyPair serverKeys, int keys, int threads,
                                 int protocol) throws InterruptedException {
        AtomicLong next = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        Capabilities offer = protocol == 2 ? Capabilities.offer(V2Wire.VERSION, V2Wire.FEATURE_BATCH_LOOKUP
                | V2Wire.FEATURE_DUAL_STACK | V2Wire.FEATURE_CANDIDATES | V2Wire.FEATURE_PUSH
                | V2Wire.FEATURE_NAT_PROBE | V2Wire.FEATURE_RELAY) : null;
        long timestamp = System.currentTimeMillis() * 1_000_000L;
        for (int t = 0; t < threads; t++) {
            InternalPacketHandler mine = handler.forAnotherThread();
            Thread th = new Thread(() -> {
                byte[] scratch = new byte[Wire.TIMESTAMP_LENGTH + V2Wire.MAX_CAPABILITY_BLOCK];
                byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
                byte[] m2 = new byte[V2Wire.MAX_DATAGRAM];
                try {
                    for (long i = next.getAndIncrement(); i < keys; i = next.getAndIncrement()) {
                        NoiseHandshake client = NoiseHandshake.initiator(KeyPair.generate(), serverKeys.publicKey(),
                                NoiseHandshake.NATPUNCH_PROLOGUE);
                        int n = V2Handshake.encodeInitiation(client, (int) i, timestamp, offer, scratch, m1, 0);
                        if (mine.handle(m1, 0, n, source((int) i), m2, 0) <= 0) {
                            throw new IllegalStateException("handshake " + i + " not answered: " + mine.metrics().drops());
                        }
                        if (i % 100_000 == 99_999) {
                            System.out.printf(Locale.ROOT, "  %d keys registered%n", i + 1);
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                    next.set(keys);
                }
            }, "registrations-" + t);
            workers.add(th);
            th.start();
        }
        for (Thread th : workers) {
            th.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("registration failed", failures.get(0));
        }
    }

    private static long usedHeapAfterGc(MemoryMXBean memory) throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(200);
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
