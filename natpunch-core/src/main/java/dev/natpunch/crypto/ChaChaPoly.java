package dev.natpunch.crypto;

/**
 * ChaCha20-Poly1305 (RFC 8439) with Noise's nonce: 4 zero bytes followed by a 64-bit counter,
 * little-endian.
 *
 * <p>Written by hand rather than taken from a provider because every provider keeps per-message
 * state in an object (JDK {@code Cipher}, BouncyCastle's engine) or allocates the output
 * (Tink), while the rendezvous server wants one key shared by many threads and no garbage per
 * datagram. Here all state lives in local variables: the methods are pure functions of their
 * arguments, hence thread-safe and allocation-free. The benchmark
 * {@code dev.natpunch.bench.crypto.ChaChaPolyBenchmark} compares it with the providers.
 *
 * <p>{@code out} may be the same array as the input at the same offset (in-place); other
 * overlaps are not supported.
 */
final class ChaChaPoly {
    static final int TAG_LENGTH = 16;

    private static final int C0 = 0x61707865;
    private static final int C1 = 0x3320646e;
    private static final int C2 = 0x79622d32;
    private static final int C3 = 0x6b206574;
    private static final long M26 = 0x3ffffff;

    private ChaChaPoly() {
    }

    /** The 8 little-endian key words of a 32-byte key. */
    static int[] keyWords(byte[] key, int offset) {
        int[] k = new int[8];
        keyWords(key, offset, k);
        return k;
    }

    /** Writes the 8 little-endian key words of a 32-byte key into {@code words}. */
    static void keyWords(byte[] key, int offset, int[] words) {
        for (int i = 0; i < 8; i++) {
            words[i] = le32(key, offset + 4 * i);
        }
    }

    /** Encrypts and writes ciphertext followed by the tag; returns {@code ptLength + 16}. */
    static int seal(int[] key, long nonce, byte[] ad, int adOffset, int adLength,
                    byte[] pt, int ptOffset, int ptLength, byte[] out, int outOffset) {
        xor(key, nonce, pt, ptOffset, ptLength, out, outOffset);
        poly1305(key, nonce, ad, adOffset, adLength, out, outOffset, ptLength,
                out, outOffset + ptLength, false);
        return ptLength + TAG_LENGTH;
    }

    /**
     * Verifies the tag (the last 16 bytes of the ciphertext) and, only if it is right, decrypts.
     *
     * @return the plaintext length, or -1 if the tag is wrong (nothing written then)
     */
    static int open(int[] key, long nonce, byte[] ad, int adOffset, int adLength,
                    byte[] ct, int ctOffset, int ctLength, byte[] out, int outOffset) {
        int ptLength = ctLength - TAG_LENGTH;
        if (ptLength < 0) {
            return -1;
        }
        if (!poly1305(key, nonce, ad, adOffset, adLength, ct, ctOffset, ptLength,
                ct, ctOffset + ptLength, true)) {
            return -1;
        }
        xor(key, nonce, ct, ctOffset, ptLength, out, outOffset);
        return ptLength;
    }

    /** XORs the ChaCha20 key stream from block 1 on (block 0 keys Poly1305) into out. */
    private static void xor(int[] key, long nonce, byte[] in, int inOffset, int length,
                            byte[] out, int outOffset) {
        final int k0 = key[0], k1 = key[1], k2 = key[2], k3 = key[3];
        final int k4 = key[4], k5 = key[5], k6 = key[6], k7 = key[7];
        final int n1 = (int) nonce, n2 = (int) (nonce >>> 32);
        int block = 1;
        for (int pos = 0; pos < length; pos += 64, block++) {
            int x0 = C0, x1 = C1, x2 = C2, x3 = C3;
            int x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
            int x12 = block, x13 = 0, x14 = n1, x15 = n2;
            for (int r = 0; r < 10; r++) {
                x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16);
                x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
                x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8);
                x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
                x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16);
                x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
                x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8);
                x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
                x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16);
                x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
                x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8);
                x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
                x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16);
                x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
                x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8);
                x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);

                x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16);
                x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
                x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8);
                x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
                x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16);
                x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
                x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8);
                x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
                x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16);
                x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
                x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8);
                x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
                x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16);
                x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
                x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8);
                x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
            }
            x0 += C0; x1 += C1; x2 += C2; x3 += C3;
            x4 += k0; x5 += k1; x6 += k2; x7 += k3;
            x8 += k4; x9 += k5; x10 += k6; x11 += k7;
            x12 += block; x14 += n1; x15 += n2;
            int i = inOffset + pos;
            int o = outOffset + pos;
            int n = Math.min(64, length - pos);
            if (n == 64) {
                xorWord(in, i, out, o, x0); xorWord(in, i + 4, out, o + 4, x1);
                xorWord(in, i + 8, out, o + 8, x2); xorWord(in, i + 12, out, o + 12, x3);
                xorWord(in, i + 16, out, o + 16, x4); xorWord(in, i + 20, out, o + 20, x5);
                xorWord(in, i + 24, out, o + 24, x6); xorWord(in, i + 28, out, o + 28, x7);
                xorWord(in, i + 32, out, o + 32, x8); xorWord(in, i + 36, out, o + 36, x9);
                xorWord(in, i + 40, out, o + 40, x10); xorWord(in, i + 44, out, o + 44, x11);
                xorWord(in, i + 48, out, o + 48, x12); xorWord(in, i + 52, out, o + 52, x13);
                xorWord(in, i + 56, out, o + 56, x14); xorWord(in, i + 60, out, o + 60, x15);
            } else {
                for (int j = 0; j < n; j++) {
                    int w;
                    switch (j >>> 2) {
                        case 0: w = x0; break;
                        case 1: w = x1; break;
                        case 2: w = x2; break;
                        case 3: w = x3; break;
                        case 4: w = x4; break;
                        case 5: w = x5; break;
                        case 6: w = x6; break;
                        case 7: w = x7; break;
                        case 8: w = x8; break;
                        case 9: w = x9; break;
                        case 10: w = x10; break;
                        case 11: w = x11; break;
                        case 12: w = x12; break;
                        case 13: w = x13; break;
                        case 14: w = x14; break;
                        default: w = x15; break;
                    }
                    out[o + j] = (byte) (in[i + j] ^ (w >>> (8 * (j & 3))));
                }
            }
        }
    }

    /**
     * Computes the Poly1305 tag of (ad, pad, ct, pad, lengths) with the one-time key from
     * ChaCha20 block 0, and either writes it to {@code tag} or, when {@code verify}, compares it
     * in constant time with the 16 bytes there.
     */
    private static boolean poly1305(int[] key, long nonce, byte[] ad, int adOffset, int adLength,
                                    byte[] ct, int ctOffset, int ctLength,
                                    byte[] tag, int tagOffset, boolean verify) {
        // ChaCha20 block 0; only words 0..7 are needed: r = words 0..3, s = words 4..7.
        final int k0 = key[0], k1 = key[1], k2 = key[2], k3 = key[3];
        final int k4 = key[4], k5 = key[5], k6 = key[6], k7 = key[7];
        final int n1 = (int) nonce, n2 = (int) (nonce >>> 32);
        int x0 = C0, x1 = C1, x2 = C2, x3 = C3;
        int x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
        int x12 = 0, x13 = 0, x14 = n1, x15 = n2;
        for (int r = 0; r < 10; r++) {
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 16);
            x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 12);
            x0 += x4; x12 = Integer.rotateLeft(x12 ^ x0, 8);
            x8 += x12; x4 = Integer.rotateLeft(x4 ^ x8, 7);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 16);
            x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 12);
            x1 += x5; x13 = Integer.rotateLeft(x13 ^ x1, 8);
            x9 += x13; x5 = Integer.rotateLeft(x5 ^ x9, 7);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 16);
            x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 12);
            x2 += x6; x14 = Integer.rotateLeft(x14 ^ x2, 8);
            x10 += x14; x6 = Integer.rotateLeft(x6 ^ x10, 7);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 16);
            x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 12);
            x3 += x7; x15 = Integer.rotateLeft(x15 ^ x3, 8);
            x11 += x15; x7 = Integer.rotateLeft(x7 ^ x11, 7);

            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 16);
            x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 12);
            x0 += x5; x15 = Integer.rotateLeft(x15 ^ x0, 8);
            x10 += x15; x5 = Integer.rotateLeft(x5 ^ x10, 7);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 16);
            x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 12);
            x1 += x6; x12 = Integer.rotateLeft(x12 ^ x1, 8);
            x11 += x12; x6 = Integer.rotateLeft(x6 ^ x11, 7);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 16);
            x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 12);
            x2 += x7; x13 = Integer.rotateLeft(x13 ^ x2, 8);
            x8 += x13; x7 = Integer.rotateLeft(x7 ^ x8, 7);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 16);
            x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 12);
            x3 += x4; x14 = Integer.rotateLeft(x14 ^ x3, 8);
            x9 += x14; x4 = Integer.rotateLeft(x4 ^ x9, 7);
        }
        final int t0 = x0 + C0, t1 = x1 + C1, t2 = x2 + C2, t3 = x3 + C3;
        final long s0 = (x4 + k0) & 0xffffffffL, s1 = (x5 + k1) & 0xffffffffL;
        final long s2 = (x6 + k2) & 0xffffffffL, s3 = (x7 + k3) & 0xffffffffL;

        // Clamped r in five 26-bit limbs.
        final long r0 = t0 & 0x3ffffff;
        final long r1 = ((t0 >>> 26) | (t1 << 6)) & 0x3ffff03;
        final long r2 = ((t1 >>> 20) | (t2 << 12)) & 0x3ffc0ff;
        final long r3 = ((t2 >>> 14) | (t3 << 18)) & 0x3f03fff;
        final long r4 = (t3 >>> 8) & 0x00fffff;
        final long q1 = r1 * 5, q2 = r2 * 5, q3 = r3 * 5, q4 = r4 * 5;

        long h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0;
        // Three segments, each zero-padded to whole 16-byte blocks: ad, ciphertext, lengths.
        for (int seg = 0; seg < 3; seg++) {
            byte[] buf = seg == 0 ? ad : ct;
            int start = seg == 0 ? adOffset : ctOffset;
            int end = start + (seg == 0 ? adLength : ctLength);
            if (seg == 2) {
                start = 0;
                end = 16;
            }
            for (int p = start; p < end; p += 16) {
                int w0, w1, w2, w3;
                if (seg == 2) {
                    w0 = adLength;
                    w1 = 0;
                    w2 = ctLength;
                    w3 = 0;
                } else if (end - p >= 16) {
                    w0 = le32(buf, p);
                    w1 = le32(buf, p + 4);
                    w2 = le32(buf, p + 8);
                    w3 = le32(buf, p + 12);
                } else {
                    w0 = le32Padded(buf, p, end);
                    w1 = le32Padded(buf, p + 4, end);
                    w2 = le32Padded(buf, p + 8, end);
                    w3 = le32Padded(buf, p + 12, end);
                }
                h0 += w0 & 0x3ffffff;
                h1 += ((w0 >>> 26) | (w1 << 6)) & 0x3ffffff;
                h2 += ((w1 >>> 20) | (w2 << 12)) & 0x3ffffff;
                h3 += ((w2 >>> 14) | (w3 << 18)) & 0x3ffffff;
                h4 += (w3 >>> 8) | (1 << 24);

                long d0 = h0 * r0 + h1 * q4 + h2 * q3 + h3 * q2 + h4 * q1;
                long d1 = h0 * r1 + h1 * r0 + h2 * q4 + h3 * q3 + h4 * q2;
                long d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * q4 + h4 * q3;
                long d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * q4;
                long d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
                long c = d0 >>> 26;
                h0 = d0 & M26;
                d1 += c;
                c = d1 >>> 26;
                h1 = d1 & M26;
                d2 += c;
                c = d2 >>> 26;
                h2 = d2 & M26;
                d3 += c;
                c = d3 >>> 26;
                h3 = d3 & M26;
                d4 += c;
                c = d4 >>> 26;
                h4 = d4 & M26;
                h0 += c * 5;
                c = h0 >>> 26;
                h0 &= M26;
                h1 += c;
            }
        }

        // Full carry, then reduce modulo 2^130 - 5 in constant time.
        long c = h1 >>> 26;
        h1 &= M26;
        h2 += c;
        c = h2 >>> 26;
        h2 &= M26;
        h3 += c;
        c = h3 >>> 26;
        h3 &= M26;
        h4 += c;
        c = h4 >>> 26;
        h4 &= M26;
        h0 += c * 5;
        c = h0 >>> 26;
        h0 &= M26;
        h1 += c;

        long g0 = h0 + 5;
        c = g0 >>> 26;
        g0 &= M26;
        long g1 = h1 + c;
        c = g1 >>> 26;
        g1 &= M26;
        long g2 = h2 + c;
        c = g2 >>> 26;
        g2 &= M26;
        long g3 = h3 + c;
        c = g3 >>> 26;
        g3 &= M26;
        long g4 = h4 + c - (1L << 26);
        long useG = (g4 >>> 63) - 1; // all ones when h >= p
        h0 = (h0 & ~useG) | (g0 & useG);
        h1 = (h1 & ~useG) | (g1 & useG);
        h2 = (h2 & ~useG) | (g2 & useG);
        h3 = (h3 & ~useG) | (g3 & useG);
        h4 = (h4 & ~useG) | (g4 & useG);

        long f0 = ((h0) | (h1 << 26)) & 0xffffffffL;
        long f1 = ((h1 >>> 6) | (h2 << 20)) & 0xffffffffL;
        long f2 = ((h2 >>> 12) | (h3 << 14)) & 0xffffffffL;
        long f3 = ((h3 >>> 18) | (h4 << 8)) & 0xffffffffL;
        f0 += s0;
        f1 += s1 + (f0 >>> 32);
        f2 += s2 + (f1 >>> 32);
        f3 += s3 + (f2 >>> 32);

        if (verify) {
            int diff = ((int) f0 ^ le32(tag, tagOffset))
                    | ((int) f1 ^ le32(tag, tagOffset + 4))
                    | ((int) f2 ^ le32(tag, tagOffset + 8))
                    | ((int) f3 ^ le32(tag, tagOffset + 12));
            return diff == 0;
        }
        putLe32(tag, tagOffset, (int) f0);
        putLe32(tag, tagOffset + 4, (int) f1);
        putLe32(tag, tagOffset + 8, (int) f2);
        putLe32(tag, tagOffset + 12, (int) f3);
        return true;
    }

    private static void xorWord(byte[] in, int i, byte[] out, int o, int w) {
        putLe32(out, o, le32(in, i) ^ w);
    }

    static int le32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16
                | (b[off + 3] & 0xff) << 24;
    }

    private static int le32Padded(byte[] b, int off, int end) {
        int w = 0;
        for (int i = 0; i < 4 && off + i < end; i++) {
            w |= (b[off + i] & 0xff) << (8 * i);
        }
        return w;
    }

    private static void putLe32(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }
}
