package dev.natpunch.protocol.v2;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.protocol.Wire;

/**
 * The sealed envelope of types 4 (client to server) and 5 (server to client): type (1), the
 * session index the server assigned (4), the sender's counter (8), then ChaCha20-Poly1305 under
 * nonce = counter with the 13 header bytes as associated data. The plaintext starts with the
 * 7-byte inner header (kind, id, body length), then the body, then zero padding.
 *
 * <p>The counter is the same per-direction counter that type 3 messages of the session use: one
 * key never sees a nonce twice, whatever the message type.
 */
public final class Sealed {
    private Sealed() {
    }

    /**
     * First-line check of a datagram: type and length (36 to 1232 bytes).
     *
     * @param toServer whether the receiver is the server (expects type 4) or a client (type 5)
     * @return {@code null} when the envelope may be opened
     */
    public static V2Rejection check(byte[] d, int off, int len, boolean toServer) {
        if (len <= 0) {
            return V2Rejection.TOO_SHORT;
        }
        byte mine = toServer ? V2Wire.TYPE_SEALED_TO_SERVER : V2Wire.TYPE_SEALED_TO_CLIENT;
        byte theirs = toServer ? V2Wire.TYPE_SEALED_TO_CLIENT : V2Wire.TYPE_SEALED_TO_SERVER;
        if (d[off] != mine) {
            return d[off] == theirs ? V2Rejection.WRONG_DIRECTION : V2Rejection.UNKNOWN_TYPE;
        }
        if (len < V2Wire.MIN_SEALED_LENGTH) {
            return V2Rejection.TOO_SHORT;
        }
        return len > V2Wire.MAX_DATAGRAM ? V2Rejection.TOO_LONG : null;
    }

    public static int sessionIndex(byte[] d, int off) {
        return Wire.readInt(d, off + V2Wire.SEALED_INDEX_OFFSET);
    }

    public static long counter(byte[] d, int off) {
        return Wire.readLong(d, off + V2Wire.SEALED_COUNTER_OFFSET);
    }

    /**
     * Writes the inner header at {@code p[off]}; the body follows at {@code off + 7}.
     *
     * @return {@code off + 7}
     */
    public static int writeInnerHeader(byte[] p, int off, byte kind, int id, int bodyLength) {
        p[off + V2Wire.INNER_KIND_OFFSET] = kind;
        Wire.writeInt(p, off + V2Wire.INNER_ID_OFFSET, id);
        Wire.writeShort(p, off + V2Wire.INNER_BODY_LENGTH_OFFSET, bodyLength);
        return off + V2Wire.INNER_HEADER_LENGTH;
    }

    /** The longest plaintext that keeps the sealed datagram within {@code datagramLength} bytes. */
    public static int plaintextLimit(int datagramLength) {
        return Math.min(datagramLength, V2Wire.MAX_DATAGRAM) - V2Wire.SEALED_OVERHEAD;
    }

    /**
     * Seals {@code plainLen} bytes of plaintext (inner header and body) into a complete datagram,
     * first appending zero padding so that the datagram is {@code padTo} bytes long when it would
     * otherwise be shorter. The padding is written into {@code plain}, which must have room.
     *
     * @param type {@link V2Wire#TYPE_SEALED_TO_SERVER} or {@link V2Wire#TYPE_SEALED_TO_CLIENT}
     * @param padTo the datagram length wanted, 0 for none; at most {@link V2Wire#MAX_DATAGRAM}
     * @return the datagram length
     * @throws IllegalArgumentException if the datagram would exceed {@link V2Wire#MAX_DATAGRAM}
     */
    public static int seal(CipherState sender, byte type, int sessionIndex, long counter,
                           byte[] plain, int plainOff, int plainLen, int padTo, byte[] out, int off) {
        int padded = Math.max(plainLen, padTo - V2Wire.SEALED_OVERHEAD);
        if (padded + V2Wire.SEALED_OVERHEAD > V2Wire.MAX_DATAGRAM) {
            throw new IllegalArgumentException("sealed message of " + (padded + V2Wire.SEALED_OVERHEAD)
                    + " bytes exceeds " + V2Wire.MAX_DATAGRAM);
        }
        for (int i = plainOff + plainLen; i < plainOff + padded; i++) {
            plain[i] = 0;
        }
        out[off] = type;
        Wire.writeInt(out, off + V2Wire.SEALED_INDEX_OFFSET, sessionIndex);
        Wire.writeLong(out, off + V2Wire.SEALED_COUNTER_OFFSET, counter);
        int n = sender.seal(counter, out, off, V2Wire.SEALED_HEADER_LENGTH, plain, plainOff, padded,
                out, off + V2Wire.SEALED_HEADER_LENGTH);
        return V2Wire.SEALED_HEADER_LENGTH + n;
    }

    /**
     * Authenticates and decrypts a datagram that passed {@link #check}. Does not check the
     * counter against a replay window; the caller does that once this succeeded.
     *
     * @param plain receives the plaintext; room for {@code len - 29} bytes
     * @return the plaintext length, or -1 if the datagram does not authenticate
     */
    public static int open(CipherState receiver, byte[] d, int off, int len, byte[] plain, int plainOff) {
        return receiver.tryOpen(counter(d, off), d, off, V2Wire.SEALED_HEADER_LENGTH,
                d, off + V2Wire.SEALED_HEADER_LENGTH, len - V2Wire.SEALED_HEADER_LENGTH, plain, plainOff);
    }

    public static byte kind(byte[] p, int off) {
        return p[off + V2Wire.INNER_KIND_OFFSET];
    }

    public static int id(byte[] p, int off) {
        return Wire.readInt(p, off + V2Wire.INNER_ID_OFFSET);
    }

    public static int bodyLength(byte[] p, int off) {
        return Wire.readUnsignedShort(p, off + V2Wire.INNER_BODY_LENGTH_OFFSET);
    }

    /** Offset of the body of the plaintext at {@code off}. */
    public static int bodyOffset(int off) {
        return off + V2Wire.INNER_HEADER_LENGTH;
    }
}
