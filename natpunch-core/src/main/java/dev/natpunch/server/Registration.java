package dev.natpunch.server;

import dev.natpunch.crypto.Key;

/**
 * One client key in the registry, about 250 bytes with its endpoint (that is what the registration
 * cap bounds); log texts are derived from the key on demand rather than stored. The endpoint and last-seen time are read lock-free by lookups;
 * the replay timestamp and the current session change only under this object's monitor.
 */
final class Registration {
    final Key key;
    final int hash;

    /** Next registration in the same bucket; written under the bucket's stripe lock. */
    volatile Registration next;
    /** Null until the first handshake of this key completes. */
    volatile Endpoint endpoint;
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
        this.hash = hash;
        this.lastSeenMillis = nowMillis;
    }

    boolean isExpired(long nowMillis, long ttlMillis) {
        return nowMillis - lastSeenMillis > ttlMillis;
    }
}
