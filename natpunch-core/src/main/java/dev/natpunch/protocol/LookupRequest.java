package dev.natpunch.protocol;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.Key;

/**
 * Lookup request, client to server (93 bytes): type 3, session index (4), the client's send
 * counter n (8), and ChaCha20-Poly1305 under nonce n of own key (32) || peer key (32), plus tag.
 */
public final class LookupRequest {
    private LookupRequest() {
    }

    /**
     * Seals and writes a complete request into {@code out} at {@code off}.
     *
     * @param scratch at least 64 bytes the method may overwrite
     * @return the number of bytes written (always {@link Wire#LOOKUP_REQUEST_LENGTH})
     */
    public static int encode(CipherState sender, int sessionIndex, long counter, Key ownKey, Key peerKey,
                             byte[] scratch, byte[] out, int off) {
        out[off] = Wire.TYPE_DATA;
        Wire.writeInt(out, off + Wire.INDEX_OFFSET, sessionIndex);
        Wire.writeLong(out, off + Wire.LOOKUP_REQUEST_COUNTER_OFFSET, counter);
        ownKey.copyTo(scratch, Wire.LOOKUP_OWN_KEY_OFFSET);
        peerKey.copyTo(scratch, Wire.LOOKUP_PEER_KEY_OFFSET);
        int n = sender.seal(counter, scratch, 0, Wire.LOOKUP_PLAINTEXT_LENGTH, out,
                off + Wire.LOOKUP_REQUEST_CIPHERTEXT_OFFSET);
        if (n != Wire.LOOKUP_REQUEST_CIPHERTEXT_LENGTH) {
            throw new IllegalStateException("sealed lookup is " + n + " bytes, expected "
                    + Wire.LOOKUP_REQUEST_CIPHERTEXT_LENGTH);
        }
        return Wire.LOOKUP_REQUEST_LENGTH;
    }

    public static int sessionIndex(byte[] d, int off) {
        return Wire.readInt(d, off + Wire.INDEX_OFFSET);
    }

    public static long counter(byte[] d, int off) {
        return Wire.readLong(d, off + Wire.LOOKUP_REQUEST_COUNTER_OFFSET);
    }

    /**
     * Decrypts the 64-byte plaintext into {@code plain} at {@code plainOff}, without allocating
     * even when the tag is wrong. Does not check the counter against a replay window; the caller
     * does that once the tag is verified.
     *
     * @return whether the ciphertext authenticated
     */
    public static boolean open(CipherState receiver, byte[] d, int off, byte[] plain, int plainOff) {
        return receiver.tryOpen(counter(d, off), d, off + Wire.LOOKUP_REQUEST_CIPHERTEXT_OFFSET,
                Wire.LOOKUP_REQUEST_CIPHERTEXT_LENGTH, plain, plainOff) >= 0;
    }
}
