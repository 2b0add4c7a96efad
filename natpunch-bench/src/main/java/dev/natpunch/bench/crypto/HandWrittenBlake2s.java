package dev.natpunch.bench.crypto;

/**
 * A straightforward one-shot BLAKE2s-256 (RFC 7693, no key), written only to see whether it
 * would beat BouncyCastle's {@code Blake2sDigest} by enough to be worth carrying in the core.
 * Not thread-safe (scratch arrays per instance).
 */
final class HandWrittenBlake2s {
    private static final int[] IV = {
        0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
    };
    private static final byte[][] SIGMA = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    };

    private final int[] h = new int[8];
    private final int[] v = new int[16];
    private final int[] m = new int[16];

    void digest(byte[] in, int off, int len, byte[] out, int outOff) {
        for (int i = 0; i < 8; i++) {
            h[i] = IV[i];
        }
        h[0] ^= 0x01010000 ^ 32;
        int pos = 0;
        // Every block but the last is compressed as non-final; an empty input is one zero block.
        while (len - pos > 64) {
            load(in, off + pos, 64);
            pos += 64;
            compress(pos, false);
        }
        load(in, off + pos, len - pos);
        compress(len, true);
        for (int i = 0; i < 8; i++) {
            int w = h[i];
            out[outOff + 4 * i] = (byte) w;
            out[outOff + 4 * i + 1] = (byte) (w >>> 8);
            out[outOff + 4 * i + 2] = (byte) (w >>> 16);
            out[outOff + 4 * i + 3] = (byte) (w >>> 24);
        }
    }

    private void load(byte[] in, int off, int n) {
        for (int i = 0; i < 16; i++) {
            int w = 0;
            for (int j = 0; j < 4; j++) {
                int k = 4 * i + j;
                if (k < n) {
                    w |= (in[off + k] & 0xff) << (8 * j);
                }
            }
            m[i] = w;
        }
    }

    private void compress(long counter, boolean last) {
        for (int i = 0; i < 8; i++) {
            v[i] = h[i];
            v[i + 8] = IV[i];
        }
        v[12] ^= (int) counter;
        v[13] ^= (int) (counter >>> 32);
        if (last) {
            v[14] = ~v[14];
        }
        for (int r = 0; r < 10; r++) {
            byte[] s = SIGMA[r];
            g(0, 4, 8, 12, m[s[0]], m[s[1]]);
            g(1, 5, 9, 13, m[s[2]], m[s[3]]);
            g(2, 6, 10, 14, m[s[4]], m[s[5]]);
            g(3, 7, 11, 15, m[s[6]], m[s[7]]);
            g(0, 5, 10, 15, m[s[8]], m[s[9]]);
            g(1, 6, 11, 12, m[s[10]], m[s[11]]);
            g(2, 7, 8, 13, m[s[12]], m[s[13]]);
            g(3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        for (int i = 0; i < 8; i++) {
            h[i] ^= v[i] ^ v[i + 8];
        }
    }

    private void g(int a, int b, int c, int d, int x, int y) {
        v[a] += v[b] + x;
        v[d] = Integer.rotateRight(v[d] ^ v[a], 16);
        v[c] += v[d];
        v[b] = Integer.rotateRight(v[b] ^ v[c], 12);
        v[a] += v[b] + y;
        v[d] = Integer.rotateRight(v[d] ^ v[a], 8);
        v[c] += v[d];
        v[b] = Integer.rotateRight(v[b] ^ v[c], 7);
    }
}
