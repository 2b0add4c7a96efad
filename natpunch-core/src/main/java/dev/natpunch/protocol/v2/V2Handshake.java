package dev.natpunch.protocol.v2;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.StaticDhCache;
import dev.natpunch.protocol.Wire;

/**
 * Messages 1 and 2 of the version 1 handshake with room for capability blocks: message 1 is
 * 109 bytes plus the client's block (inside the encrypted Noise payload, after the timestamp),
 * message 2 is 53 bytes plus the server's block (the whole Noise payload). Without a block both
 * are byte-for-byte the version 1 messages.
 */
public final class V2Handshake {
    private static final byte[] EMPTY = new byte[0];

    private V2Handshake() {
    }

    /**
     * Writes message 1 with the timestamp and, unless {@code offer} is {@code null}, the offer's
     * capability block.
     *
     * @param scratch at least 8 + {@link V2Wire#MAX_CAPABILITY_BLOCK} bytes the method may overwrite
     * @return the number of bytes written: 109 + the block's length
     */
    public static int encodeInitiation(NoiseHandshake initiator, int proposedIndex, long timestampNanos,
                                       Capabilities offer, byte[] scratch, byte[] out, int off) {
        Wire.writeLong(scratch, 0, timestampNanos);
        int payload = Wire.TIMESTAMP_LENGTH + (offer == null ? 0 : offer.encode(scratch, Wire.TIMESTAMP_LENGTH));
        out[off] = Wire.TYPE_HANDSHAKE_INITIATION;
        Wire.writeInt(out, off + Wire.INDEX_OFFSET, proposedIndex);
        int n = initiator.writeMessage(scratch, 0, payload, out, off + Wire.INITIATION_NOISE_OFFSET);
        return Wire.INITIATION_NOISE_OFFSET + n;
    }

    /**
     * First-line check of a datagram that claims to be message 1: type 1 and 109 to 365 bytes.
     * natpunch-go's server accepts any length of 109 and more; version 2 caps it so that a server
     * never decrypts more than a capability block's worth.
     */
    public static V2Rejection checkInitiation(byte[] d, int off, int len) {
        if (len <= 0 || d[off] != Wire.TYPE_HANDSHAKE_INITIATION) {
            return V2Rejection.UNKNOWN_TYPE;
        }
        if (len < Wire.INITIATION_LENGTH) {
            return V2Rejection.TOO_SHORT;
        }
        return len > V2Wire.MAX_INITIATION_LENGTH ? V2Rejection.TOO_LONG : null;
    }

    /**
     * Runs the responder's side of message 1 (which passed {@link #checkInitiation}).
     *
     * @param payload receives the decrypted payload: the timestamp at 0, the capability block at 8
     * @return the payload length; 8 means a version 1 client, more means a block of
     *     {@code length - 8} bytes follows the timestamp
     */
    public static int readInitiation(NoiseHandshake responder, byte[] d, int off, int len, byte[] payload)
            throws HandshakeException {
        return readInitiation(responder, d, off, len, payload, null);
    }

    /**
     * {@link #readInitiation(NoiseHandshake, byte[], int, int, byte[])} with the responder's
     * remembered static-static Diffie-Hellman values (see {@link StaticDhCache}), or null.
     */
    public static int readInitiation(NoiseHandshake responder, byte[] d, int off, int len, byte[] payload,
                                     StaticDhCache cache) throws HandshakeException {
        return responder.readMessage(d, off + Wire.INITIATION_NOISE_OFFSET, len - Wire.INITIATION_NOISE_OFFSET,
                payload, 0, cache);
    }

    /**
     * Writes message 2 with {@code answer}'s capability block, or with the empty payload of
     * version 1 when {@code answer} is {@code null}. A server passes {@code null} unless message 1
     * carried a valid offer: a version 1 client must get exactly the 53 bytes it knows.
     *
     * @param initiationLength the length of the message 1 being answered; message 2 is never
     *     longer (no amplification)
     * @param scratch at least {@link V2Wire#MAX_CAPABILITY_BLOCK} bytes
     * @return the number of bytes written, or -1 (nothing written, the handshake untouched) when
     *     the answer would be longer than {@code initiationLength}
     */
    public static int encodeResponse(NoiseHandshake responder, int assignedIndex, Capabilities answer,
                                     int initiationLength, byte[] scratch, byte[] out, int off) {
        int block = answer == null ? 0 : answer.encodedLength();
        if (Wire.RESPONSE_LENGTH + block > initiationLength) {
            return -1;
        }
        if (answer != null) {
            answer.encode(scratch, 0);
        }
        out[off] = Wire.TYPE_HANDSHAKE_RESPONSE;
        Wire.writeInt(out, off + Wire.INDEX_OFFSET, assignedIndex);
        int n = responder.writeMessage(answer == null ? EMPTY : scratch, 0, block, out, off + Wire.RESPONSE_NOISE_OFFSET);
        return Wire.RESPONSE_NOISE_OFFSET + n;
    }

    /** First-line check of message 2: type 2 and 53 to 309 bytes. */
    public static V2Rejection checkResponse(byte[] d, int off, int len) {
        if (len <= 0 || d[off] != Wire.TYPE_HANDSHAKE_RESPONSE) {
            return V2Rejection.UNKNOWN_TYPE;
        }
        if (len < Wire.RESPONSE_LENGTH) {
            return V2Rejection.TOO_SHORT;
        }
        return len > V2Wire.MAX_RESPONSE_LENGTH ? V2Rejection.TOO_LONG : null;
    }

    /**
     * Runs the initiator's side of message 2 (which passed {@link #checkResponse}).
     *
     * @param payload receives the server's capability block; at least {@code len - 53} bytes
     * @return the block's length; 0 means a version 1 server
     */
    public static int readResponse(NoiseHandshake initiator, byte[] d, int off, int len, byte[] payload)
            throws HandshakeException {
        return initiator.readMessage(d, off + Wire.RESPONSE_NOISE_OFFSET, len - Wire.RESPONSE_NOISE_OFFSET,
                payload, 0);
    }
}
