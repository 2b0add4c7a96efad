package dev.natpunch.server;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/** An immutable snapshot of a {@link RendezvousServer}'s counters, taken by {@link RendezvousServer#metrics()}. */
public final class ServerMetrics {
    private final long registrations;
    private final long sessions;
    private final long handshakesOk;
    private final long handshakesFailed;
    private final long lookupsHit;
    private final long lookupsMiss;
    private final Map<DropReason, Long> drops;
    private final long handshakesV2;
    private final long offersRejected;
    private final long sealedRequests;
    private final long errorsSent;
    private final long subscriptions;
    private final long pushesSent;
    private final long sessionsEvicted;

    ServerMetrics(long registrations, long sessions, long handshakesOk, long handshakesFailed,
                  long lookupsHit, long lookupsMiss, EnumMap<DropReason, Long> drops,
                  long handshakesV2, long offersRejected, long sealedRequests, long errorsSent,
                  long subscriptions, long pushesSent, long sessionsEvicted) {
        this.sessionsEvicted = sessionsEvicted;
        this.subscriptions = subscriptions;
        this.pushesSent = pushesSent;
        this.handshakesV2 = handshakesV2;
        this.offersRejected = offersRejected;
        this.sealedRequests = sealedRequests;
        this.errorsSent = errorsSent;
        this.registrations = registrations;
        this.sessions = sessions;
        this.handshakesOk = handshakesOk;
        this.handshakesFailed = handshakesFailed;
        this.lookupsHit = lookupsHit;
        this.lookupsMiss = lookupsMiss;
        this.drops = Collections.unmodifiableMap(new EnumMap<>(drops));
    }

    /** Client keys currently registered (including ones whose handshake is being processed). */
    public long registrations() {
        return registrations;
    }

    /** Sessions currently in the session table. */
    public long sessions() {
        return sessions;
    }

    /** Handshakes answered since start. */
    public long handshakesOk() {
        return handshakesOk;
    }

    /**
     * Well-formed handshake initiations that were not answered (invalid, replayed, tables full);
     * rate-limited ones are only counted as {@link DropReason#RATE_LIMITED} drops.
     */
    public long handshakesFailed() {
        return handshakesFailed;
    }

    /** Handshakes answered that negotiated protocol version 2 (included in {@link #handshakesOk()}). */
    public long handshakesV2() {
        return handshakesV2;
    }

    /**
     * Handshakes whose client offered a capability block that failed the checks; each was answered
     * as version 1 (included in {@link #handshakesOk()}).
     */
    public long offersRejected() {
        return offersRejected;
    }

    /** Version 2 sealed requests that authenticated, answered or not. */
    public long sealedRequests() {
        return sealedRequests;
    }

    /** Version 2 ERROR answers sent (malformed or unsupported requests, unavailable services). */
    public long errorsSent() {
        return errorsSent;
    }

    /**
     * Keys in all sessions' subscription sets, with the keys that looked up a session's owner
     * and that the session is to hear of (INTEREST, protocol-v2.md 6.3): both count against the
     * same cap.
     */
    public long subscriptions() {
        return subscriptions;
    }

    /** PUSH_UPDATE datagrams sent, retransmissions included. */
    public long pushesSent() {
        return pushesSent;
    }

    /**
     * Sessions dropped to make room for a new one while the session table was full: the oldest
     * of those that had not carried a request yet (what a handshake flood from random keys leaves
     * behind), with their key's registration when that key never sent a request either.
     */
    public long sessionsEvicted() {
        return sessionsEvicted;
    }

    /**
     * Peers asked for that were answered with at least one endpoint: version 1 lookups, and each
     * key of a version 2 LOOKUP.
     */
    public long lookupsHit() {
        return lookupsHit;
    }

    /** Peers asked for that were answered "not found" (version 1 lookups and version 2 LOOKUP keys). */
    public long lookupsMiss() {
        return lookupsMiss;
    }

    /** Dropped datagrams by reason; every reason is present, most with 0. */
    public Map<DropReason, Long> drops() {
        return drops;
    }

    /** Dropped datagrams with the given reason. */
    public long drops(DropReason reason) {
        return drops.get(reason);
    }

    /** All dropped datagrams. */
    public long totalDrops() {
        long sum = 0;
        for (long n : drops.values()) {
            sum += n;
        }
        return sum;
    }

    @Override
    public String toString() {
        return "ServerMetrics[registrations=" + registrations + ", sessions=" + sessions
                + ", handshakesOk=" + handshakesOk + ", handshakesFailed=" + handshakesFailed
                + ", handshakesV2=" + handshakesV2 + ", sealedRequests=" + sealedRequests
                + ", lookupsHit=" + lookupsHit + ", lookupsMiss=" + lookupsMiss
                + ", sessionsEvicted=" + sessionsEvicted + ", drops=" + totalDrops() + "]";
    }
}
