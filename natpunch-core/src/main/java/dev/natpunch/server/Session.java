package dev.natpunch.server;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.ReplayWindow;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The transport state a handshake left behind, found by the index the server assigned. About 400
 * bytes with its cipher states and replay window, about 650 with the push state of a version 2
 * session that negotiated PUSH (docs/PERFORMANCE.md); the session cap bounds their number.
 */
final class Session {
    private static final VarHandle SEND_COUNTER;

    static {
        try {
            SEND_COUNTER = MethodHandles.lookup().findVarHandle(Session.class, "sendCounter", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int index;
    final Registration owner;
    final CipherState receiver;
    final CipherState sender;
    final ReplayWindow replayWindow = new ReplayWindow();
    /** The counter of the next datagram this server seals for the session; see {@link #nextSendCounter()}. */
    @SuppressWarnings("unused") // through SEND_COUNTER
    private volatile long sendCounter;
    final long createdMillis;
    /** The protocol version negotiated in the handshake: 1, or 2 when the client offered it. */
    final int version;
    /** The version 2 features negotiated ({@code V2Wire.FEATURE_*}); 0 for version 1. */
    final long features;
    /** Subscriptions and pushes; null unless the session negotiated PUSH. */
    final PushState push;

    /** Next session in the same bucket; written under the bucket's stripe lock. */
    volatile Session next;
    /** Set before the cipher states are destroyed, so that a racing lookup discards its answer. */
    volatile boolean removed;
    /**
     * Set by the first authenticated request on the session. Until then the session is on the
     * table's list of idle sessions, which a full table evicts, oldest first.
     */
    volatile boolean used;
    /** Neighbours on the session table's idle list; guarded by the table's idle-list lock. */
    Session idlePrev;
    Session idleNext;

    Session(int index, Registration owner, CipherState receiver, CipherState sender, long createdMillis,
            int version, long features, Pushes pushes) {
        this.index = index;
        this.owner = owner;
        this.receiver = receiver;
        this.sender = sender;
        this.createdMillis = createdMillis;
        this.version = version;
        this.features = features;
        this.push = (features & dev.natpunch.protocol.v2.V2Wire.FEATURE_PUSH) != 0 && pushes != null
                ? new PushState(this, pushes) : null;
    }

    /** Probes per second a session may send (protocol-v2.md 6.6: no more than 10). */
    static final int PROBES_PER_SECOND = 10;
    /** Guarded by this. */
    private long probeSecond = Long.MIN_VALUE;
    /** Guarded by this. */
    private int probesThisSecond;
    /** Guarded by this. */
    private long lastRateLimitedMillis = Long.MIN_VALUE / 2;

    /** Counts a PROBE; false once this second's allowance is used up. */
    synchronized boolean allowProbe(long nowMillis) {
        long second = Math.floorDiv(nowMillis, 1000);
        if (second != probeSecond) {
            probeSecond = second;
            probesThisSecond = 0;
        }
        return ++probesThisSecond <= PROBES_PER_SECOND;
    }

    /** Whether a RATE_LIMITED error may be sent now: at most one a second. */
    synchronized boolean allowRateLimitedError(long nowMillis) {
        if (nowMillis - lastRateLimitedMillis < 1000) {
            return false;
        }
        lastRateLimitedMillis = nowMillis;
        return true;
    }

    /** A counter for the next datagram sealed for the client: each one used once, counting from 0. */
    long nextSendCounter() {
        return (long) SEND_COUNTER.getAndAdd(this, 1L);
    }

    boolean has(long feature) {
        return (features & feature) == feature;
    }

    boolean isExpired(long nowMillis, long ttlMillis) {
        return nowMillis - createdMillis > ttlMillis;
    }

    void destroy() {
        removed = true;
        if (push != null) {
            push.end();
        }
        receiver.destroy();
        sender.destroy();
    }
}
