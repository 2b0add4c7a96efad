package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A protocol version 2 flood over real UDP on loopback: authenticated sessions that subscribe to
 * more keys than the server holds, send batch lookups too short for their answers, and never
 * acknowledge a push, while the keys they watch keep re-registering from new ports (so every
 * subscriber is pushed) and legitimate clients keep looking peers up. What is asserted: every
 * answer is at most as long as its request, every push at most as long as the longest datagram
 * its session sent and in all at most three times what that session sent, the subscription
 * tables stay at their caps, nothing throws inside the server, and the legitimate clients are
 * served (their success rate is printed; timing is not asserted).
 */
class V2FloodTest {
    private static final int TARGETS = 24;
    private static final int FLOODERS = 16;
    private static final int LEGITIMATE = 6;
    private static final int PER_SESSION = 16;
    private static final long TOTAL_SUBSCRIPTIONS = 160;
    private static final int ROUNDS = 40;
    private static final Capabilities OFFER = Capabilities.offer(2, V2Wire.FEATURES_V2);
    private static final int WANT = V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6 | V2Wire.WANT_SERVER_REFLEXIVE;

    /** What one flooding session sent and got. */
    private static final class Tally {
        long sentBytes;
        int longestSent;
        long answers;
        long pushes;
        long pushBytes;
        long limits;
    }

    @Test
    void subscriptionLookupAndPushFloodsAreBoundedNeverAmplifiedAndLegitimateClientsAreServed() throws Exception {
        KeyPair serverKeys = KeyPair.generate();
        ServerConfig config = new ServerConfig(0, InetAddress.getLoopbackAddress(), serverKeys,
                RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(), RendezvousServer.DEFAULT_SESSION_TTL.toMillis(),
                400, 400, 2, null, Clock.systemUTC(), 0, 0,
                new ServerConfig.Extensions(2, PER_SESSION, TOTAL_SUBSCRIPTIONS));
        ExecutorService pool = Executors.newCachedThreadPool();
        try (UdpRendezvousServer server = new UdpRendezvousServer(config)) {
            server.start();
            List<KeyPair> targets = new ArrayList<>();
            for (int i = 0; i < TARGETS; i++) {
                KeyPair k = KeyPair.generate();
                targets.add(k);
                try (V2Peer p = new V2Peer(k, server.publicKey(), server.localAddress())) {
                    p.handshake(1, System.nanoTime(), OFFER);
                }
            }
            Key[] targetKeys = targets.stream().map(KeyPair::publicKey).toArray(Key[]::new);
            AtomicBoolean flooding = new AtomicBoolean(true);

            // The watched keys keep moving: each re-registration from a new port pushes every subscriber.
            Future<Long> churn = pool.submit(() -> {
                long moves = 0;
                SplittableRandom rnd = new SplittableRandom(1);
                while (flooding.get()) {
                    try (V2Peer p = new V2Peer(targets.get(rnd.nextInt(TARGETS)), server.publicKey(),
                            server.localAddress())) {
                        handshake(p);
                        moves++;
                    }
                }
                return moves;
            });

            // Unauthenticated junk and replays from other sockets, paced at about 4,000 datagrams/s.
            java.util.concurrent.ConcurrentLinkedDeque<byte[]> captured = new java.util.concurrent.ConcurrentLinkedDeque<>();
            AtomicLong junkSent = new AtomicLong();
            AtomicLong junkAnswered = new AtomicLong();
            Future<?> junk = pool.submit(() -> {
                blast(server, captured, flooding, junkSent, junkAnswered);
                return null;
            });

            long floodStart = System.nanoTime();
            List<Future<Tally>> floods = new ArrayList<>();
            for (int f = 0; f < FLOODERS; f++) {
                long seed = f;
                floods.add(pool.submit(() -> flood(server, targetKeys, seed, captured)));
            }
            AtomicLong tried = new AtomicLong();
            AtomicLong served = new AtomicLong();
            List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Future<?>> legit = new ArrayList<>();
            for (int l = 0; l < LEGITIMATE; l++) {
                long seed = 100 + l;
                legit.add(pool.submit(() -> {
                    legitimate(server, targetKeys, seed, flooding, tried, served, latencies);
                    return null;
                }));
            }

            List<Tally> tallies = new ArrayList<>();
            for (Future<Tally> f : floods) {
                tallies.add(f.get());
            }
            flooding.set(false);
            double seconds = (System.nanoTime() - floodStart) / 1e9;
            for (Future<?> f : legit) {
                f.get();
            }
            long moves = churn.get();
            junk.get();

            PacketHandler h = server.handler();
            ServerMetrics m = h.metrics();
            assertEquals(0, m.drops(DropReason.INTERNAL_ERROR), m.drops().toString());
            assertTrue(h.pushes.total() <= TOTAL_SUBSCRIPTIONS, "subscriptions " + h.pushes.total());
            assertTrue(h.pushes.indexedKeys() <= TARGETS * 2 + FLOODERS * PER_SESSION, "indexed " + h.pushes.indexedKeys());
            long sent = 0;
            long pushes = 0;
            long pushBytes = 0;
            long limits = 0;
            for (Tally t : tallies) {
                assertTrue(t.pushBytes <= 3 * t.sentBytes, "pushed " + t.pushBytes + " bytes to a session that sent "
                        + t.sentBytes);
                sent += t.sentBytes;
                pushes += t.pushes;
                pushBytes += t.pushBytes;
                limits += t.limits;
            }
            assertTrue(limits > 0, "the flood never reached the subscription caps");
            assertEquals(0, junkAnswered.get(), "junk or a replay was answered");
            assertTrue(m.drops(DropReason.UNKNOWN_SESSION) > 0 && m.drops(DropReason.COUNTER_REPLAY) > 0
                    && m.drops(DropReason.HANDSHAKE_INVALID) > 0, m.drops().toString());
            assertTrue(pushes > 0, "no push reached a flooder: the churn did not work");
            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            double rate = 100.0 * served.get() / Math.max(1, tried.get());
            System.out.printf("v2 flood of %.1f s: %d junk and replayed datagrams (0 answered); %d flooding sessions sent"
                            + " %d bytes, got %d pushes (%d bytes, never acked), %d subscription refusals;"
                            + " %d re-registrations; subscriptions %d of %d;"
                            + " legitimate lookups %d/%d = %.1f%%, p50 %.2f ms, p99 %.2f ms; drops %s%n",
                    seconds, junkSent.get(), FLOODERS, sent, pushes, pushBytes, limits, moves, h.pushes.total(), TOTAL_SUBSCRIPTIONS,
                    served.get(), tried.get(), rate, percentile(sorted, 50) / 1e6, percentile(sorted, 99) / 1e6,
                    m.drops());
            assertTrue(rate >= 90, "legitimate lookups served: " + rate + "%");
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A handshake, retried: under the flood a message 1 or 2 may be lost or late, as on the
     * internet (a late message 2 of an earlier attempt does not authenticate for the next one).
     */
    private static void handshake(V2Peer p) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                p.handshake(1, System.nanoTime(), OFFER);
                return;
            } catch (IOException e) {
                if (attempt == 5) {
                    throw e;
                }
            }
        }
    }

    private static double percentile(long[] sorted, int p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, sorted.length * p / 100)];
    }

    /** One flooding session: subscriptions beyond the caps and lookups too short for their answers. */
    /**
     * Sealed datagrams of sessions that do not exist, message 1 with junk where the encrypted part
     * should be, and replays of the flooders' requests, each from one of 8 sockets: none may be
     * answered.
     */
    private static void blast(UdpRendezvousServer server, java.util.Deque<byte[]> captured, AtomicBoolean flooding,
                              AtomicLong sent, AtomicLong answered) throws IOException, InterruptedException {
        SplittableRandom rnd = new SplittableRandom(7);
        List<java.nio.channels.DatagramChannel> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                java.nio.channels.DatagramChannel c = java.nio.channels.DatagramChannel.open();
                c.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                c.configureBlocking(false);
                sockets.add(c);
            }
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(2048);
            long start = System.nanoTime();
            while (flooding.get()) {
                byte[] d;
                int kind = rnd.nextInt(10);
                switch (kind < 5 ? 0 : kind < 6 ? 1 : 2) {
                    case 0 -> {
                        d = new byte[V2Wire.MIN_SEALED_LENGTH + rnd.nextInt(V2Wire.MAX_DATAGRAM - V2Wire.MIN_SEALED_LENGTH)];
                        rnd.nextBytes(d);
                        d[0] = V2Wire.TYPE_SEALED_TO_SERVER;
                    }
                    case 1 -> {
                        d = new byte[109 + rnd.nextInt(V2Wire.MAX_INITIATION_LENGTH - 108)];
                        rnd.nextBytes(d);
                        d[0] = 1;
                    }
                    default -> {
                        byte[] c = captured.pollFirst();
                        if (c == null) {
                            continue;
                        }
                        d = c;
                    }
                }
                sockets.get(rnd.nextInt(sockets.size())).send(java.nio.ByteBuffer.wrap(d), server.localAddress());
                long n = sent.incrementAndGet();
                for (java.nio.channels.DatagramChannel c : sockets) {
                    in.clear();
                    if (c.receive(in) != null) {
                        answered.incrementAndGet();
                    }
                }
                long ahead = n * 250_000 - (System.nanoTime() - start);
                if (ahead > 0) {
                    Thread.sleep(ahead / 1_000_000, (int) (ahead % 1_000_000));
                }
            }
            Thread.sleep(200);
            for (java.nio.channels.DatagramChannel c : sockets) {
                in.clear();
                if (c.receive(in) != null) {
                    answered.incrementAndGet();
                }
            }
        } finally {
            for (java.nio.channels.DatagramChannel c : sockets) {
                c.close();
            }
        }
    }

    private static Tally flood(UdpRendezvousServer server, Key[] targets, long seed, java.util.Deque<byte[]> captured)
            throws IOException {
        Tally t = new Tally();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (V2Peer p = new V2Peer(KeyPair.generate(), server.publicKey(), server.localAddress())) {
            handshake(p);
            p.setReceiveTimeout(300);
            byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
            // Answers are matched to requests by id: under the flood one may come after the wait.
            int[] requestLength = new int[ROUNDS];
            byte[][] requests = new byte[ROUNDS][];
            for (int round = 0; round < ROUNDS; round++) {
                Key[] keys = new Key[1 + rnd.nextInt(30)];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = rnd.nextInt(3) == 0 ? KeyPair.generate().publicKey() : targets[rnd.nextInt(targets.length)];
                }
                int n;
                if (rnd.nextBoolean()) {
                    n = Subscription.writeRequest(plain, 0, round, Subscription.OP_ADD, WANT, keys, 0, keys.length);
                } else {
                    n = BatchLookup.writeRequest(plain, 0, round, V2Wire.WANT_ALL, keys, 0, keys.length);
                }
                // Unpadded, or padded to a random length: the answer must always fit the request.
                int padTo = rnd.nextBoolean() ? 0 : Math.min(V2Wire.MAX_DATAGRAM, n + 29 + rnd.nextInt(400));
                byte[] request = p.seal(plain, n, padTo);
                p.send(request);
                requests[round] = request;
                requestLength[round] = request.length;
                t.sentBytes += request.length;
                t.longestSent = Math.max(t.longestSent, request.length);
                while (true) {
                    byte[] d = p.receive();
                    if (d == null) {
                        break;
                    }
                    byte[] answer = p.open(d);
                    if (Sealed.kind(answer, 0) == V2Wire.KIND_PUSH_UPDATE) {
                        assertTrue(d.length <= t.longestSent, "a " + d.length + "-byte push to a session whose"
                                + " longest datagram was " + t.longestSent);
                        t.pushes++;
                        t.pushBytes += d.length;
                        continue;
                    }
                    int id = Sealed.id(answer, 0);
                    assertTrue(id >= 0 && id <= round, "an answer to a request never sent: id " + id);
                    assertTrue(d.length <= requestLength[id], "answered " + d.length + " bytes to " + requestLength[id]);
                    t.answers++;
                    // Replayed only once answered: the server has then seen it (a datagram it has not
                    // seen yet is no replay to it; that race is the on-path attacker's, not a flood).
                    if (captured.size() < 1000) {
                        captured.addLast(requests[id]);
                    }
                    if (id != round) {
                        continue;
                    }
                    if (Sealed.kind(answer, 0) == V2Wire.KIND_SUBSCRIBE_RESULT
                            && Subscription.status(answer, 0) == Subscription.STATUS_LIMIT) {
                        t.limits++;
                    }
                    break;
                }
            }
        }
        return t;
    }

    /** A legitimate client: a padded batch lookup of four watched keys, again and again. */
    private static void legitimate(UdpRendezvousServer server, Key[] targets, long seed, AtomicBoolean flooding,
                                   AtomicLong tried, AtomicLong served, List<Long> latencies) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (V2Peer p = new V2Peer(KeyPair.generate(), server.publicKey(), server.localAddress())) {
            handshake(p);
            byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
            for (int id = 1; flooding.get(); id++) {
                Key[] keys = new Key[4];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = targets[rnd.nextInt(targets.length)];
                }
                int n = BatchLookup.writeRequest(plain, 0, id, WANT, keys, 0, keys.length);
                tried.incrementAndGet();
                long start = System.nanoTime();
                byte[] answer = p.request(plain, n, V2Wire.MAX_DATAGRAM);
                if (answer != null && Sealed.kind(answer, 0) == V2Wire.KIND_LOOKUP_RESULT && Sealed.id(answer, 0) == id
                        && BatchLookup.answered(answer, 0) == keys.length) {
                    served.incrementAndGet();
                    latencies.add(System.nanoTime() - start);
                }
                Arrays.fill(plain, (byte) 0);
            }
        }
    }
}
