package dev.natpunch.server;

import dev.natpunch.crypto.Key;

/**
 * One client key in the registry, about 300 bytes with its endpoints (that is what the
 * registration cap bounds); log texts are derived from the key on demand rather than stored.
 *
 * <p>A key has at most one server-reflexive endpoint per address family (the source of its
 * latest authenticated datagram of that family, version 1's rule applied per family) and at most
 * {@link dev.natpunch.protocol.v2.V2Wire#MAX_CANDIDATES} local candidates, so its size is fixed
 * whatever the client sends. Lookups read the endpoints and times lock-free; every change of the
 * endpoint set, the replay timestamp and the current session happen under this object's monitor,
 * so that {@link #version} grows with each change.
 */
final class Registration {
    static final byte[] NO_CANDIDATES = new byte[0];

    /** Keys one registration remembers having asked for (mutual mode); beyond that, the oldest go. */
    static final int MAX_ASKED = 1024;

    final Key key;
    /** The key's 32 bytes, for allocation-free comparisons; never written to. */
    final byte[] keyBytes;
    final int hash;
    /** Mutual mode: keys this client asked for during this registration; guarded by itself. */
    private java.util.LinkedHashSet<KeyRef> asked;

    /** Next registration in the same bucket; written under the bucket's stripe lock. */
    volatile Registration next;
    /** The IPv4 server-reflexive endpoint; null until the key is seen over IPv4. */
    volatile Endpoint endpoint4;
    volatile long seen4Millis;
    /** The IPv6 server-reflexive endpoint; null until the key is seen over IPv6. */
    volatile Endpoint endpoint6;
    volatile long seen6Millis;
    /** Local candidates in wire form, 19 bytes each (kind local); replaced, never written to. */
    volatile byte[] candidates = NO_CANDIDATES;
    /** The version of the endpoint set (protocol-v2.md 6.1); written under the monitor. */
    volatile int version;
    volatile long lastSeenMillis;
    /** Set, under the monitor, once the registry has unlinked this registration. */
    volatile boolean removed;

    /** Guarded by this. */
    boolean hasTimestamp;
    /** Guarded by this; compared unsigned. */
    long lastTimestamp;
    /** Guarded by this. */
    Session session;

    Registration(Key key, int hash, long nowMillis) {
        this.key = key;
        this.keyBytes = key.toBytes();
        this.hash = hash;
        this.lastSeenMillis = nowMillis;
    }

    boolean isExpired(long nowMillis, long ttlMillis) {
        return nowMillis - lastSeenMillis > ttlMillis;
    }

    /** The IPv4 endpoint, or null when there is none or it was not refreshed within {@code ttlMillis}. */
    Endpoint liveEndpoint4(long nowMillis, long ttlMillis) {
        Endpoint e = endpoint4;
        return e != null && nowMillis - seen4Millis <= ttlMillis ? e : null;
    }

    /** The IPv6 endpoint, or null when there is none or it was not refreshed within {@code ttlMillis}. */
    Endpoint liveEndpoint6(long nowMillis, long ttlMillis) {
        Endpoint e = endpoint6;
        return e != null && nowMillis - seen6Millis <= ttlMillis ? e : null;
    }

    /** Records that this client asked for the key at {@code b[off..]}; true if it had not before. */
    boolean recordAsked(byte[] b, int off) {
        KeyRef k = KeyRef.of(b, off);
        synchronized (this) {
            if (asked == null) {
                asked = new java.util.LinkedHashSet<>();
            }
            if (asked.contains(k)) {
                return false;
            }
            if (asked.size() >= MAX_ASKED) {
                asked.remove(asked.iterator().next());
            }
            asked.add(k);
            return true;
        }
    }

    /** Whether this client asked for {@code other} during this registration. */
    boolean hasAsked(Registration other) {
        KeyRef k = KeyRef.of(other.keyBytes, 0);
        synchronized (this) {
            return asked != null && asked.contains(k);
        }
    }

    int candidateCount() {
        return candidates.length / dev.natpunch.protocol.v2.WireEndpoint.LENGTH;
    }
}
