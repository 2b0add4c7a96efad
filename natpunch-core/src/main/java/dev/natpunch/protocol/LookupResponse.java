package dev.natpunch.protocol;

import dev.natpunch.crypto.CipherState;

/**
 * Lookup response, server to client: type 3, the server's send counter m (8), and
 * ChaCha20-Poly1305 under nonce m of either the peer's IPv4 address (4) and port (2), 31 bytes in
 * all, or of nothing (peer unknown), 25 bytes. It carries no session index.
 */
public final class LookupResponse {
    private static final byte[] EMPTY = new byte[0];

    private LookupResponse() {
    }

    /**
     * Seals a "found" answer.
     *
     * @param ipv4 the address as a big-endian int (the first octet in the high byte)
     * @param scratch at least 6 bytes the method may overwrite
     * @return the number of bytes written (always {@link Wire#LOOKUP_RESPONSE_FOUND_LENGTH})
     */
    public static int encodeFound(CipherState sender, long counter, int ipv4, int port, byte[] scratch,
                                  byte[] out, int off) {
        Wire.writeInt(scratch, 0, ipv4);
        Wire.writeShort(scratch, 4, port);
        return seal(sender, counter, scratch, Wire.ENDPOINT_PLAINTEXT_LENGTH, out, off);
    }

    /**
     * Seals a "not found" answer.
     *
     * @return the number of bytes written (always {@link Wire#LOOKUP_RESPONSE_NOT_FOUND_LENGTH})
     */
    public static int encodeNotFound(CipherState sender, long counter, byte[] out, int off) {
        return seal(sender, counter, EMPTY, 0, out, off);
    }

    private static int seal(CipherState sender, long counter, byte[] plain, int plainLen, byte[] out, int off) {
        out[off] = Wire.TYPE_DATA;
        Wire.writeLong(out, off + Wire.LOOKUP_RESPONSE_COUNTER_OFFSET, counter);
        int n = sender.seal(counter, plain, 0, plainLen, out, off + Wire.LOOKUP_RESPONSE_CIPHERTEXT_OFFSET);
        if (n != plainLen + Wire.TAG_LENGTH) {
            throw new IllegalStateException("sealed response is " + n + " bytes, expected " + (plainLen + Wire.TAG_LENGTH));
        }
        return Wire.LOOKUP_RESPONSE_CIPHERTEXT_OFFSET + n;
    }

    public static long counter(byte[] d, int off) {
        return Wire.readLong(d, off + Wire.LOOKUP_RESPONSE_COUNTER_OFFSET);
    }

    /**
     * Decrypts a response that passed {@link Messages#checkToClient}.
     *
     * @param plain receives the plaintext; at least 6 bytes
     * @return 6 (IPv4 address and port are in {@code plain[0..6)}), 0 (peer not found), or -1 if
     *     the ciphertext does not authenticate
     */
    public static int open(CipherState receiver, byte[] d, int off, int len, byte[] plain) {
        return receiver.tryOpen(counter(d, off), d, off + Wire.LOOKUP_RESPONSE_CIPHERTEXT_OFFSET,
                len - Wire.LOOKUP_RESPONSE_CIPHERTEXT_OFFSET, plain, 0);
    }
}
