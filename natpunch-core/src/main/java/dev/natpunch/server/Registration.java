package dev.natpunch.server;

import dev.natpunch.crypto.Key;

/**
 * One client key in the registry. The endpoint and last-seen time are read lock-free by lookups;
 * the replay timestamp and the current session change only under this object's monitor.
 */
final class Registration {
    final byte[] keyBytes;
    final Key key;
    final String keyBase64;
    /** The first 16 base64 characters, as natpunch-go's server prints keys in its lookup log. */
    final String keyLogPrefix;
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
        this.keyBytes = key.toBytes();
        this.keyBase64 = key.toBase64();
        this.keyLogPrefix = keyBase64.substring(0, 16);
        this.hash = hash;
        this.lastSeenMillis = nowMillis;
    }

    boolean isExpired(long nowMillis, long ttlMillis) {
        return nowMillis - lastSeenMillis > ttlMillis;
    }
}
