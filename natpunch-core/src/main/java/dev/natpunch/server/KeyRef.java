package dev.natpunch.server;

import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A client key as a hash-map key for the subscription tables. Clients choose the keys they
 * subscribe to, so the hash is keyed with a random per-JVM seed (they cannot aim many keys at one
 * bucket), and the ordering lets a map degrade to a tree, not a list, should they collide anyway.
 */
final class KeyRef implements Comparable<KeyRef> {
    private static final long SEED = new SecureRandom().nextLong();

    private final byte[] bytes;
    private final int hash;

    private KeyRef(byte[] bytes) {
        this.bytes = bytes;
        long h = SEED;
        for (int i = 0; i < 32; i += 8) {
            long v = 0;
            for (int j = 0; j < 8; j++) {
                v = v << 8 | (bytes[i + j] & 0xff);
            }
            h = (h ^ v) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 29;
        }
        this.hash = (int) (h ^ h >>> 32);
    }

    /** A copy of the 32 bytes at {@code b[off..]}. */
    static KeyRef of(byte[] b, int off) {
        return new KeyRef(Arrays.copyOfRange(b, off, off + 32));
    }

    /** The 32 bytes of {@code key}, not copied: the caller promises nobody changes them. */
    static KeyRef wrap(byte[] key) {
        return new KeyRef(key);
    }

    /** The key's bytes; callers must not modify them. */
    byte[] bytes() {
        return bytes;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyRef && Arrays.equals(bytes, ((KeyRef) o).bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(KeyRef o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }
}
