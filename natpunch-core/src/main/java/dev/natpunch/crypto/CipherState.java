package dev.natpunch.crypto;

import java.util.Arrays;
import java.util.Objects;
import javax.crypto.AEADBadTagException;

/**
 * One direction of a Noise transport session: ChaCha20-Poly1305 with Noise's nonce (4 zero bytes
 * followed by the 64-bit counter, little-endian) and empty associated data unless given.
 *
 * <p>Unlike a Noise CipherState, the counter is not kept here: the rendezvous protocol carries
 * it on the wire (big-endian) with every data message, so the caller passes it. Never seal two
 * messages with the same counter; on the receiving side, check the counter with a
 * {@link ReplayWindow} after {@link #open} succeeded.
 *
 * <p>Thread-safe: apart from the key the object holds no state, so many threads may seal and
 * open concurrently. {@link #seal} and {@link #open} allocate nothing (a failed {@link #open}
 * allocates its exception; {@link #tryOpen} does not). {@code out} may be the input array at
 * the same offset (in-place); other overlaps are not supported.
 */
public final class CipherState {
    /** Length of the Poly1305 tag appended to every ciphertext. */
    public static final int TAG_LENGTH = ChaChaPoly.TAG_LENGTH;

    private static final byte[] EMPTY = new byte[0];

    private final int[] key;

    private CipherState(int[] key) {
        this.key = key;
    }

    /**
     * A cipher state keyed with 32 raw bytes. Meant for tests that pin bytes of data messages;
     * in a real session keys come from {@link NoiseHandshake#split()}.
     */
    public static CipherState fromKey(byte[] key) {
        if (key.length != Key.LENGTH) {
            throw new IllegalArgumentException("a cipher key is 32 bytes, not " + key.length);
        }
        return new CipherState(ChaChaPoly.keyWords(key, 0));
    }

    static CipherState fromKey(byte[] key, int offset) {
        return new CipherState(ChaChaPoly.keyWords(key, offset));
    }

    /**
     * Encrypts {@code ptLength} bytes with nonce {@code counter} and empty associated data,
     * writing ciphertext and tag to {@code out}. Use each counter once, counting from 0; a
     * {@link ReplayWindow} refuses counters of 2^63 and above.
     *
     * @return {@code ptLength + 16}, the number of bytes written
     */
    public int seal(long counter, byte[] plaintext, int ptOffset, int ptLength, byte[] out, int outOffset) {
        return seal(counter, EMPTY, 0, 0, plaintext, ptOffset, ptLength, out, outOffset);
    }

    /** {@link #seal(long, byte[], int, int, byte[], int)} with associated data. */
    public int seal(long counter, byte[] ad, int adOffset, int adLength,
                    byte[] plaintext, int ptOffset, int ptLength, byte[] out, int outOffset) {
        Objects.checkFromIndexSize(adOffset, adLength, ad.length);
        Objects.checkFromIndexSize(ptOffset, ptLength, plaintext.length);
        Objects.checkFromIndexSize(outOffset, ptLength + TAG_LENGTH, out.length);
        return ChaChaPoly.seal(key, counter, ad, adOffset, adLength,
                plaintext, ptOffset, ptLength, out, outOffset);
    }

    /**
     * Checks the tag of {@code ctLength} bytes (ciphertext then 16-byte tag) encrypted with nonce
     * {@code counter} and empty associated data, and decrypts them into {@code out}.
     *
     * @return {@code ctLength - 16}, the plaintext length
     * @throws AEADBadTagException if the tag is wrong (or the input shorter than a tag); nothing
     *     is written to {@code out} then
     */
    public int open(long counter, byte[] ciphertext, int ctOffset, int ctLength, byte[] out, int outOffset)
            throws AEADBadTagException {
        int n = tryOpen(counter, ciphertext, ctOffset, ctLength, out, outOffset);
        if (n < 0) {
            throw new AEADBadTagException("message authentication failed");
        }
        return n;
    }

    /**
     * Like {@link #open(long, byte[], int, int, byte[], int)} but returns -1 instead of throwing,
     * for receive loops that drop forged datagrams without paying for an exception.
     */
    public int tryOpen(long counter, byte[] ciphertext, int ctOffset, int ctLength, byte[] out, int outOffset) {
        return tryOpen(counter, EMPTY, 0, 0, ciphertext, ctOffset, ctLength, out, outOffset);
    }

    /** {@link #tryOpen(long, byte[], int, int, byte[], int)} with associated data. */
    public int tryOpen(long counter, byte[] ad, int adOffset, int adLength,
                       byte[] ciphertext, int ctOffset, int ctLength, byte[] out, int outOffset) {
        Objects.checkFromIndexSize(adOffset, adLength, ad.length);
        Objects.checkFromIndexSize(ctOffset, ctLength, ciphertext.length);
        if (ctLength < TAG_LENGTH) {
            return -1;
        }
        Objects.checkFromIndexSize(outOffset, ctLength - TAG_LENGTH, out.length);
        return ChaChaPoly.open(key, counter, ad, adOffset, adLength,
                ciphertext, ctOffset, ctLength, out, outOffset);
    }

    /**
     * Overwrites the key with zeros. Later calls encrypt with the all-zero key, so stop using the
     * object; sessions call this when they are replaced or expire.
     */
    public void destroy() {
        Arrays.fill(key, 0);
    }

    /** Never shows the key. */
    @Override
    public String toString() {
        return "CipherState[ChaCha20-Poly1305]";
    }
}
