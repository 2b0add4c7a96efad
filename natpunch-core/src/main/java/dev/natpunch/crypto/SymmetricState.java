package dev.natpunch.crypto;

import java.util.Arrays;
import org.bouncycastle.crypto.digests.Blake2sDigest;

/**
 * Noise's SymmetricState for ChaChaPoly and BLAKE2s: the chaining key, the handshake hash and the
 * current handshake cipher key. One per handshake; not thread-safe.
 */
final class SymmetricState {
    static final int HASH_LENGTH = 32;
    private static final int BLOCK_LENGTH = 64;

    private final Blake2sDigest digest = new Blake2sDigest(256);
    final byte[] ck = new byte[HASH_LENGTH];
    final byte[] h = new byte[HASH_LENGTH];
    private final byte[] k = new byte[HASH_LENGTH];
    private int[] kWords;
    private long n;

    private final byte[] block = new byte[BLOCK_LENGTH];
    private final byte[] inner = new byte[HASH_LENGTH];
    private final byte[] tempKey = new byte[HASH_LENGTH];
    private final byte[] out1 = new byte[HASH_LENGTH];
    private final byte[] prevH = new byte[HASH_LENGTH];
    private static final byte[] ONE = {1};
    private static final byte[] TWO = {2};

    /** InitializeSymmetric, for a protocol name given as bytes. */
    SymmetricState(byte[] protocolName) {
        if (protocolName.length <= HASH_LENGTH) {
            System.arraycopy(protocolName, 0, h, 0, protocolName.length);
        } else {
            digest.update(protocolName, 0, protocolName.length);
            digest.doFinal(h, 0);
        }
        System.arraycopy(h, 0, ck, 0, HASH_LENGTH);
    }

    void mixHash(byte[] data, int offset, int length) {
        digest.update(h, 0, HASH_LENGTH);
        digest.update(data, offset, length);
        digest.doFinal(h, 0);
    }

    /** MixKey with a 32-byte DH output (or any input key material). */
    void mixKey(byte[] ikm, int offset, int length) {
        hkdf2(ikm, offset, length, ck, k);
        kWords = ChaChaPoly.keyWords(k, 0);
        n = 0;
    }

    boolean hasKey() {
        return kWords != null;
    }

    /** EncryptAndHash: writes the ciphertext (or the plaintext, before any key) and returns its length. */
    int encryptAndHash(byte[] pt, int ptOffset, int ptLength, byte[] out, int outOffset) {
        int written;
        if (kWords == null) {
            System.arraycopy(pt, ptOffset, out, outOffset, ptLength);
            written = ptLength;
        } else {
            written = ChaChaPoly.seal(kWords, n++, h, 0, HASH_LENGTH, pt, ptOffset, ptLength, out, outOffset);
        }
        mixHash(out, outOffset, written);
        return written;
    }

    /**
     * DecryptAndHash: returns the plaintext length, or -1 if the tag did not verify. On failure
     * the hash is already mixed, so the caller restores a {@link #snapshot} to continue.
     */
    int decryptAndHash(byte[] ct, int ctOffset, int ctLength, byte[] out, int outOffset) {
        System.arraycopy(h, 0, prevH, 0, HASH_LENGTH);
        // Hash before decrypting: out may overwrite ct in place.
        mixHash(ct, ctOffset, ctLength);
        if (kWords == null) {
            System.arraycopy(ct, ctOffset, out, outOffset, ctLength);
            return ctLength;
        }
        int len = ChaChaPoly.open(kWords, n, prevH, 0, HASH_LENGTH, ct, ctOffset, ctLength, out, outOffset);
        if (len >= 0) {
            n++;
        }
        return len;
    }

    /** Split: the two transport keys, first for initiator to responder. */
    CipherState[] split() {
        byte[] k1 = new byte[HASH_LENGTH];
        byte[] k2 = new byte[HASH_LENGTH];
        hkdf2(new byte[0], 0, 0, k1, k2);
        CipherState[] result = {CipherState.fromKey(k1, 0), CipherState.fromKey(k2, 0)};
        Arrays.fill(k1, (byte) 0);
        Arrays.fill(k2, (byte) 0);
        return result;
    }

    /** Copies ck, h, k, the key-present flag and n, so that a failed read can be undone. */
    Snapshot snapshot() {
        return new Snapshot(ck.clone(), h.clone(), k.clone(), kWords, n);
    }

    void restore(Snapshot s) {
        System.arraycopy(s.ck, 0, ck, 0, HASH_LENGTH);
        System.arraycopy(s.h, 0, h, 0, HASH_LENGTH);
        System.arraycopy(s.k, 0, k, 0, HASH_LENGTH);
        if (kWords != null && kWords != s.kWords) {
            Arrays.fill(kWords, 0);
        }
        kWords = s.kWords;
        n = s.n;
    }

    /** Zeroes every secret held. */
    void destroy() {
        Arrays.fill(ck, (byte) 0);
        Arrays.fill(k, (byte) 0);
        Arrays.fill(tempKey, (byte) 0);
        Arrays.fill(out1, (byte) 0);
        Arrays.fill(block, (byte) 0);
        Arrays.fill(inner, (byte) 0);
        if (kWords != null) {
            Arrays.fill(kWords, 0);
        }
    }

    static final class Snapshot {
        final byte[] ck;
        final byte[] h;
        final byte[] k;
        final int[] kWords;
        final long n;

        Snapshot(byte[] ck, byte[] h, byte[] k, int[] kWords, long n) {
            this.ck = ck;
            this.h = h;
            this.k = k;
            this.kWords = kWords;
            this.n = n;
        }

        void wipe() {
            Arrays.fill(ck, (byte) 0);
            Arrays.fill(k, (byte) 0);
        }
    }

    /** Noise's HKDF with two outputs: ck := output 1 into {@code first}, output 2 into {@code second}. */
    private void hkdf2(byte[] ikm, int offset, int length, byte[] first, byte[] second) {
        hmac(ck, ikm, offset, length, null, tempKey);
        hmac(tempKey, ONE, 0, 1, null, out1);
        hmac(tempKey, out1, 0, HASH_LENGTH, TWO, second);
        System.arraycopy(out1, 0, first, 0, HASH_LENGTH);
    }

    /** HMAC-BLAKE2s of (data || suffix) with a 32-byte key. */
    private void hmac(byte[] key, byte[] data, int offset, int length, byte[] suffix, byte[] out) {
        for (int i = 0; i < BLOCK_LENGTH; i++) {
            block[i] = (byte) ((i < HASH_LENGTH ? key[i] : 0) ^ 0x36);
        }
        digest.update(block, 0, BLOCK_LENGTH);
        digest.update(data, offset, length);
        if (suffix != null) {
            digest.update(suffix, 0, suffix.length);
        }
        digest.doFinal(inner, 0);
        for (int i = 0; i < BLOCK_LENGTH; i++) {
            block[i] = (byte) ((i < HASH_LENGTH ? key[i] : 0) ^ 0x5c);
        }
        digest.update(block, 0, BLOCK_LENGTH);
        digest.update(inner, 0, HASH_LENGTH);
        digest.doFinal(out, 0);
    }
}
