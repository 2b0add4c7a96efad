package dev.natpunch.bench.load;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Messages;
import dev.natpunch.protocol.Wire;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One generator thread: a share of the simulated clients, multiplexed on one {@link Selector}.
 * Open loop ({@code ratePerSecond > 0}): requests leave at their scheduled times whatever the
 * server does, and latency counts from the scheduled time, so a stalled server or generator shows
 * in the percentiles instead of silently lowering the offered load. Closed loop: keeps
 * {@code window} requests in flight, for the maximum throughput.
 */
final class Driver {
    enum Kind { LOOKUPS, ECHO, HANDSHAKES }

    private static final long TIMEOUT_SCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final Kind kind;
    private final SimClient[] mine;
    private final SimClient[] all;
    private final int[] clientByPort;
    private final Selector selector;
    private final long timeoutNanos;
    private final byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
    private final ByteBuffer outBuf = ByteBuffer.wrap(out);
    private final byte[] in = new byte[Wire.MAX_MESSAGE_LENGTH + 1];
    private final ByteBuffer inBuf = ByteBuffer.wrap(in);
    private final byte[] scratch = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
    private final byte[] plain = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
    private final Counts counts = new Counts();
    private int outstanding;
    private int rr;
    private long measureFrom;
    private long sendUntil;
    private long stoppedAt;
    private long totalSent;
    private long warmupAnswered;

    Driver(Kind kind, SimClient[] mine, SimClient[] all, int[] clientByPort, long timeoutNanos) throws IOException {
        this.kind = kind;
        this.mine = mine;
        this.all = all;
        this.clientByPort = clientByPort;
        this.timeoutNanos = timeoutNanos;
        this.selector = Selector.open();
        for (int i = 0; i < mine.length; i++) {
            mine[i].localIndex = i;
            mine[i].channel.register(selector, SelectionKey.OP_READ, mine[i]);
        }
    }

    Counts counts() {
        return counts;
    }

    /** Answers to requests sent before the measured window. */
    long warmupAnswered() {
        return warmupAnswered;
    }

    /** When the last {@link #run} stopped sending: its end, or earlier when it reached its maximum of requests. */
    long stoppedSendingAt() {
        return stoppedAt;
    }

    /**
     * Gives every client of this thread a session: a real handshake with the server for lookups,
     * made-up keys for the echo server (which only reflects bytes). At most {@code window}
     * handshakes in flight; each client tries up to 5 times.
     *
     * @return the number of clients left without a session
     */
    int establishSessions(Key serverKey, int window) throws IOException {
        if (kind == Kind.ECHO) {
            for (SimClient c : mine) {
                byte[] k = new byte[Key.LENGTH];
                ThreadLocalRandom.current().nextBytes(k);
                c.sender = dev.natpunch.crypto.CipherState.fromKey(k);
                c.receiver = c.sender;
                c.sessionIndex = ThreadLocalRandom.current().nextInt();
            }
            return 0;
        }
        NoiseHandshake[] pending = new NoiseHandshake[mine.length];
        long[] sentAt = new long[mine.length];
        int[] tries = new int[mine.length];
        int done = 0;
        int failed = 0;
        int next = 0;
        int inFlight = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (done + failed < mine.length && System.nanoTime() < deadline) {
            long now = System.nanoTime();
            for (int i = 0; i < mine.length && inFlight < window; i++) {
                int k = (next + i) % mine.length;
                SimClient c = mine[k];
                if (c.sender != null || tries[k] < 0) {
                    continue;
                }
                boolean retry = pending[k] != null && now - sentAt[k] > TimeUnit.SECONDS.toNanos(1);
                if (pending[k] != null && !retry) {
                    continue;
                }
                if (retry) {
                    inFlight--;
                }
                if (tries[k] == 5) {
                    tries[k] = -1;
                    pending[k] = null;
                    failed++;
                    continue;
                }
                tries[k]++;
                pending[k] = NoiseHandshake.initiator(c.keys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
                int n = HandshakeInitiation.encode(pending[k], ThreadLocalRandom.current().nextInt(),
                        timestampNanos(), scratch, out, 0);
                outBuf.clear().limit(n);
                c.channel.write(outBuf);
                sentAt[k] = now;
                inFlight++;
                next = k + 1;
            }
            selector.select(10);
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                SimClient c = (SimClient) key.attachment();
                int k = c.localIndex;
                int len;
                while ((len = readOne(c)) >= 0) {
                    if (pending[k] == null || Messages.checkToClient(in, 0, len) != null
                            || in[0] != Wire.TYPE_HANDSHAKE_RESPONSE) {
                        continue;
                    }
                    try {
                        HandshakeResponse.read(pending[k], in, 0, plain);
                    } catch (HandshakeException e) {
                        continue;
                    }
                    TransportKeys keys = pending[k].split();
                    c.sender = keys.sender();
                    c.receiver = keys.receiver();
                    c.sessionIndex = HandshakeResponse.assignedIndex(in, 0);
                    pending[k] = null;
                    inFlight--;
                    done++;
                }
            }
        }
        return mine.length - done;
    }

    /**
     * Pre-builds {@code perClient} handshake initiations for every client of this thread, with
     * increasing timestamps, so the measured run spends no generator CPU on X25519 and the server
     * can use the cores. Every {@code checkEvery}-th keeps its initiator, to check the server's
     * message 2 cryptographically. With {@code freshKeys}, every initiation comes from a new
     * random key (a flood of new registrations) instead of the client's own key.
     */
    void buildHandshakes(Key serverKey, int perClient, int checkEvery, boolean freshKeys) {
        long ts = timestampNanos();
        // Every core helps: with fresh keys this is three scalar multiplications per initiation.
        java.util.stream.IntStream.range(0, mine.length).parallel().forEach(k -> {
            SimClient c = mine[k];
            byte[] stamp = new byte[Wire.TIMESTAMP_LENGTH];
            c.pool = new byte[perClient][];
            c.poolCheck = new NoiseHandshake[perClient];
            c.poolNext = 0;
            for (int i = 0; i < perClient; i++) {
                KeyPair keys = freshKeys ? KeyPair.generate() : c.keys;
                NoiseHandshake hs = NoiseHandshake.initiator(keys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
                byte[] msg = new byte[Wire.INITIATION_LENGTH];
                HandshakeInitiation.encode(hs, ThreadLocalRandom.current().nextInt(), ts + i, stamp, msg, 0);
                c.pool[i] = msg;
                if ((k * perClient + i) % checkEvery == 0) {
                    c.poolCheck[i] = hs;
                }
            }
        });
    }

    /**
     * Runs the load: sends from {@code start} until {@code end}, counts requests scheduled from
     * {@code measureFrom} on, then waits up to the timeout for the answers still in flight.
     */
    void run(long start, long measureFrom, long end, double ratePerSecond, int window, long maxSends)
            throws IOException {
        this.measureFrom = measureFrom;
        this.sendUntil = end;
        this.stoppedAt = end;
        double nanosPerRequest = ratePerSecond > 0 ? 1e9 / ratePerSecond : 0;
        long scheduled = 0;
        long lastScan = start;
        while (System.nanoTime() < start) {
            LockSupport.parkNanos(start - System.nanoTime());
        }
        while (true) {
            long now = System.nanoTime();
            long nextDue = Long.MAX_VALUE;
            if (now < end && maxSends > 0 && totalSent >= maxSends) {
                end = now;
                stoppedAt = now;
            }
            if (now < end) {
                if (nanosPerRequest > 0) {
                    while (true) {
                        long intended = start + (long) (scheduled * nanosPerRequest);
                        if (intended > now || intended >= end) {
                            nextDue = intended;
                            break;
                        }
                        sendOne(intended, true);
                        scheduled++;
                    }
                } else {
                    for (int tries = 0; outstanding < window && tries < 4; tries++) {
                        if (!sendOne(now, false)) {
                            break;
                        }
                    }
                }
            } else if (outstanding == 0 || now - end > timeoutNanos) {
                break;
            }
            int ready = selector.selectNow();
            if (ready > 0) {
                receiveReady();
            }
            if (now - lastScan > TIMEOUT_SCAN_NANOS) {
                expire(now);
                lastScan = now;
            }
            if (ready == 0) {
                if (nanosPerRequest > 0 && now < end) {
                    long gap = nextDue - System.nanoTime();
                    if (gap > TimeUnit.MILLISECONDS.toNanos(2)) {
                        selector.select(TimeUnit.NANOSECONDS.toMillis(gap) - 1);
                    } else if (gap > 0) {
                        LockSupport.parkNanos(gap);
                    }
                } else if (now >= end || outstanding >= window) {
                    selector.select(5);
                }
                if (!selector.selectedKeys().isEmpty()) {
                    receiveReady();
                }
            }
        }
        // Whatever is still in flight after the drain is lost.
        for (SimClient c : mine) {
            for (int s = 0; s < c.slotSent.length; s++) {
                if (c.slotSent[s] != SimClient.FREE) {
                    giveUp(c.slotSent[s]);
                    c.slotSent[s] = SimClient.FREE;
                }
            }
            if (c.hsSent != SimClient.FREE) {
                giveUp(c.hsSent);
                c.hsSent = SimClient.FREE;
            }
        }
        outstanding = 0;
    }

    /**
     * Sends the next request. Open loop: the next client in turn, whatever it has in flight (a
     * request still unanswered in the slot it needs counts as lost). Closed loop: the next client
     * with a free slot.
     *
     * @return false if nothing could be sent (closed loop: every client busy)
     */
    private boolean sendOne(long intended, boolean openLoop) throws IOException {
        int n = mine.length;
        for (int tries = 0; tries < n; tries++) {
            SimClient c = mine[rr];
            rr = rr + 1 == n ? 0 : rr + 1;
            if (kind == Kind.HANDSHAKES) {
                if (!c.hasPooledHandshake()) {
                    if (openLoop) {
                        if (intended >= measureFrom) {
                            counts.sent++;
                            counts.poolExhausted++;
                            counts.lost++;
                        }
                        return true;
                    }
                    continue;
                }
                if (c.hsSent != SimClient.FREE) {
                    if (!openLoop) {
                        continue;
                    }
                    giveUp(c.hsSent);
                    outstanding--;
                }
                int i = c.poolNext++;
                c.hsPending = c.poolCheck[i];
                c.poolCheck[i] = null;
                if (write(c, c.pool[i], Wire.INITIATION_LENGTH, intended)) {
                    c.pool[i] = null;
                    c.hsSent = intended;
                    outstanding++;
                } else {
                    c.hsSent = SimClient.FREE;
                }
                return true;
            }
            int s = c.nextSlot;
            if (c.slotSent[s] != SimClient.FREE) {
                if (!openLoop) {
                    continue;
                }
                giveUp(c.slotSent[s]);
                c.slotSent[s] = SimClient.FREE;
                outstanding--;
            }
            c.nextSlot = s + 1 == c.slotSent.length ? 0 : s + 1;
            SimClient peer = all[(c.index + 1 + s) % all.length];
            int len = LookupRequest.encode(c.sender, c.sessionIndex, c.sendCounter++, c.publicKey,
                    peer.publicKey, scratch, out, 0);
            if (write(c, out, len, intended)) {
                c.slotSent[s] = intended;
                outstanding++;
            }
            return true;
        }
        return false;
    }

    private boolean write(SimClient c, byte[] data, int len, long intended) throws IOException {
        boolean measured = intended >= measureFrom && intended < sendUntil;
        totalSent++;
        if (measured) {
            counts.sent++;
        }
        ByteBuffer b = data == out ? outBuf : ByteBuffer.wrap(data);
        b.clear().limit(len);
        int w;
        try {
            w = c.channel.write(b);
        } catch (java.net.PortUnreachableException e) {
            // An ICMP error from an earlier datagram (server not listening yet or gone).
            w = 0;
        }
        if (w == 0) {
            if (measured) {
                counts.notSent++;
                counts.lost++;
            }
            return false;
        }
        return true;
    }

    private void giveUp(long intended) {
        if (intended >= measureFrom && intended < sendUntil) {
            counts.lost++;
        }
    }

    private void expire(long now) {
        long limit = now - timeoutNanos;
        for (SimClient c : mine) {
            long[] slots = c.slotSent;
            for (int s = 0; s < slots.length; s++) {
                if (slots[s] != SimClient.FREE && slots[s] < limit) {
                    giveUp(slots[s]);
                    slots[s] = SimClient.FREE;
                    outstanding--;
                }
            }
            if (c.hsSent != SimClient.FREE && c.hsSent < limit) {
                giveUp(c.hsSent);
                c.hsSent = SimClient.FREE;
                c.hsPending = null;
                outstanding--;
            }
        }
    }

    private void receiveReady() throws IOException {
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey key = it.next();
            it.remove();
            SimClient c = (SimClient) key.attachment();
            // One datagram per ready socket: a second read would mostly find nothing and cost a
            // system call; the selector reports the socket again if more is queued.
            int len = readOne(c);
            if (len >= 0) {
                long now = System.nanoTime();
                switch (kind) {
                    case LOOKUPS:
                        onLookupAnswer(c, len, now);
                        break;
                    case ECHO:
                        onEcho(c, len, now);
                        break;
                    default:
                        onHandshakeAnswer(c, len, now);
                        break;
                }
            }
        }
    }

    /** Reads one datagram into {@code in}; -1 when the socket has none. */
    private int readOne(SimClient c) throws IOException {
        inBuf.clear();
        try {
            if (c.channel.read(inBuf) <= 0) {
                return -1;
            }
        } catch (java.net.PortUnreachableException e) {
            return -1;
        }
        return inBuf.position();
    }

    private void onLookupAnswer(SimClient c, int len, long now) {
        if (Messages.checkToClient(in, 0, len) != null || in[0] != Wire.TYPE_DATA) {
            counts.invalid++;
            return;
        }
        int n = LookupResponse.open(c.receiver, in, 0, len, plain);
        if (n < 0) {
            counts.invalid++;
            return;
        }
        if (n == 0) {
            counts.notFound++;
            return;
        }
        int port = Wire.readUnsignedShort(plain, 4);
        int peer = clientByPort[port];
        int slot = peer < 0 ? -1 : Math.floorMod(peer - c.index - 1, all.length);
        if (slot < 0 || slot >= c.slotSent.length) {
            counts.invalid++;
            return;
        }
        complete(c.slotSent, slot, now);
    }

    private void onEcho(SimClient c, int len, long now) {
        if (len != EchoServer.ANSWER_LENGTH) {
            counts.invalid++;
            return;
        }
        // The same work as opening a real answer; the echo's bytes are no ciphertext, so it fails.
        LookupResponse.open(c.receiver, in, 0, len, plain);
        long counter = LookupRequest.counter(in, 0);
        complete(c.slotSent, (int) Long.remainderUnsigned(counter, c.slotSent.length), now);
    }

    private void complete(long[] slots, int slot, long now) {
        long intended = slots[slot];
        if (intended == SimClient.FREE) {
            counts.late++;
            return;
        }
        slots[slot] = SimClient.FREE;
        outstanding--;
        if (intended >= measureFrom && intended < sendUntil) {
            counts.answered++;
            counts.latency.recordValue(Math.min(now - intended, counts.latency.getHighestTrackableValue()));
        } else if (intended < measureFrom) {
            warmupAnswered++;
        }
    }

    private void onHandshakeAnswer(SimClient c, int len, long now) {
        if (Messages.checkToClient(in, 0, len) != null || in[0] != Wire.TYPE_HANDSHAKE_RESPONSE) {
            counts.invalid++;
            return;
        }
        long intended = c.hsSent;
        if (intended == SimClient.FREE) {
            counts.late++;
            return;
        }
        NoiseHandshake check = c.hsPending;
        c.hsSent = SimClient.FREE;
        c.hsPending = null;
        outstanding--;
        boolean measured = intended >= measureFrom && intended < sendUntil;
        if (check != null) {
            try {
                HandshakeResponse.read(check, in, 0, plain);
                check.split();
                if (measured) {
                    counts.verified++;
                }
            } catch (HandshakeException e) {
                if (measured) {
                    counts.verified++;
                    counts.verifyFailed++;
                    counts.invalid++;
                }
                return;
            }
        }
        if (measured) {
            counts.answered++;
            counts.latency.recordValue(Math.min(now - intended, counts.latency.getHighestTrackableValue()));
        } else if (intended < measureFrom) {
            warmupAnswered++;
        }
    }

    private static long lastTimestamp;

    /**
     * Nanoseconds since the epoch, strictly increasing across all threads: the server refuses a
     * handshake whose timestamp is not above the last one of the same key.
     */
    static synchronized long timestampNanos() {
        long now = System.currentTimeMillis() * 1_000_000L;
        lastTimestamp = Math.max(now, lastTimestamp + 1);
        return lastTimestamp;
    }

    void close() throws IOException {
        selector.close();
    }
}
