package dev.natpunch.crypto;

import java.util.Arrays;
import org.bouncycastle.crypto.digests.Blake2sDigest;

/**
 * Noise's SymmetricState for ChaChaPoly and BLAKE2s: the chaining key, the handshake hash and the
 * current handshake cipher key. One per handshake, or one reused handshake after handshake
 * ({@link #reset}); not thread-safe. Apart from {@link #split()}'s cipher states it allocates
 * nothing after construction (BouncyCastle's BLAKE2s allocates a little inside).
 */
final class SymmetricState {
    static final int HASH_LENGTH = 32;
    private static final int BLOCK_LENGTH = 64;
    private static final byte[] NO_INPUT = new byte[0];
    private static final byte[] ONE = {1};
    private static final byte[] TWO = {2};

    private final Blake2sDigest digest = new Blake2sDigest(256);
    final byte[] ck = new byte[HASH_LENGTH];
    final byte[] h = new byte[HASH_LENGTH];
    private final byte[] k = new byte[HASH_LENGTH];
    /** The key {@link #k} as ChaCha20 words; meaningful only while {@link #hasKey}. */
    private final int[] kWords = new int[8];
    private boolean hasKey;
    private long n;

    /** What {@link #mark()} saved, for {@link #rollback()}. */
    private final byte[] markCk = new byte[HASH_LENGTH];
    private final byte[] markH = new byte[HASH_LENGTH];
    private final byte[] markK = new byte[HASH_LENGTH];
    private boolean markHasKey;
    private long markN;

    private final byte[] block = new byte[BLOCK_LENGTH];
    private final byte[] inner = new byte[HASH_LENGTH];
    private final byte[] tempKey = new byte[HASH_LENGTH];
    private final byte[] out1 = new byte[HASH_LENGTH];
    private final byte[] out2 = new byte[HASH_LENGTH];
    private final byte[] out3 = new byte[HASH_LENGTH];
    private final byte[] prevH = new byte[HASH_LENGTH];

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

    /**
     * Starts over from a chaining key and hash saved earlier (the state after the pre-messages,
     * which is the same for every handshake of one static key and prologue); no cipher key.
     */
    void reset(byte[] initialCk, byte[] initialH) {
        System.arraycopy(initialCk, 0, ck, 0, HASH_LENGTH);
        System.arraycopy(initialH, 0, h, 0, HASH_LENGTH);
        Arrays.fill(k, (byte) 0);
        Arrays.fill(kWords, 0);
        hasKey = false;
        n = 0;
    }

    void mixHash(byte[] data, int offset, int length) {
        digest.update(h, 0, HASH_LENGTH);
        digest.update(data, offset, length);
        digest.doFinal(h, 0);
    }

    /** MixKey with a 32-byte DH output (or any input key material). */
    void mixKey(byte[] ikm, int offset, int length) {
        hkdf2(ikm, offset, length, ck, k);
        ChaChaPoly.keyWords(k, 0, kWords);
        hasKey = true;
        n = 0;
    }

    boolean hasKey() {
        return hasKey;
    }

    /** EncryptAndHash: writes the ciphertext (or the plaintext, before any key) and returns its length. */
    int encryptAndHash(byte[] pt, int ptOffset, int ptLength, byte[] out, int outOffset) {
        int written;
        if (!hasKey) {
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
     * the hash is already mixed, so the caller {@link #rollback()}s to continue.
     */
    int decryptAndHash(byte[] ct, int ctOffset, int ctLength, byte[] out, int outOffset) {
        System.arraycopy(h, 0, prevH, 0, HASH_LENGTH);
        // Hash before decrypting: out may overwrite ct in place.
        mixHash(ct, ctOffset, ctLength);
        if (!hasKey) {
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
        hkdf2(NO_INPUT, 0, 0, out2, out3);
        CipherState[] result = {CipherState.fromKey(out2, 0), CipherState.fromKey(out3, 0)};
        Arrays.fill(out2, (byte) 0);
        Arrays.fill(out3, (byte) 0);
        return result;
    }

    /** Saves ck, h, k, the key-present flag and n, so that a failed read can be undone. */
    void mark() {
        System.arraycopy(ck, 0, markCk, 0, HASH_LENGTH);
        System.arraycopy(h, 0, markH, 0, HASH_LENGTH);
        System.arraycopy(k, 0, markK, 0, HASH_LENGTH);
        markHasKey = hasKey;
        markN = n;
    }

    /** Returns to what {@link #mark()} saved. */
    void rollback() {
        System.arraycopy(markCk, 0, ck, 0, HASH_LENGTH);
        System.arraycopy(markH, 0, h, 0, HASH_LENGTH);
        System.arraycopy(markK, 0, k, 0, HASH_LENGTH);
        hasKey = markHasKey;
        ChaChaPoly.keyWords(k, 0, kWords);
        n = markN;
    }

    /** Zeroes the secrets {@link #mark()} saved. */
    void forgetMark() {
        Arrays.fill(markCk, (byte) 0);
        Arrays.fill(markK, (byte) 0);
    }

    /** Zeroes every secret held. */
    void destroy() {
        Arrays.fill(ck, (byte) 0);
        Arrays.fill(k, (byte) 0);
        Arrays.fill(kWords, 0);
        hasKey = false;
        Arrays.fill(tempKey, (byte) 0);
        Arrays.fill(out1, (byte) 0);
        Arrays.fill(out2, (byte) 0);
        Arrays.fill(out3, (byte) 0);
        Arrays.fill(block, (byte) 0);
        Arrays.fill(inner, (byte) 0);
        forgetMark();
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
