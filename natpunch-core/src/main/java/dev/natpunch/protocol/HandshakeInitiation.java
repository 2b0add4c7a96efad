package dev.natpunch.protocol;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.NoiseHandshake;

/**
 * Message 1, client to server (109 bytes): type 1, the client's proposed session index (4), and
 * Noise message 1 (104) whose payload is the client's timestamp (8 bytes, nanoseconds since the
 * Unix epoch, big-endian).
 */
public final class HandshakeInitiation {
    private HandshakeInitiation() {
    }

    /**
     * Writes a complete initiation into {@code out} at {@code off}.
     *
     * @param scratch at least 8 bytes the method may overwrite
     * @return the number of bytes written (always {@link Wire#INITIATION_LENGTH})
     */
    public static int encode(NoiseHandshake initiator, int proposedIndex, long timestampNanos,
                             byte[] scratch, byte[] out, int off) {
        out[off] = Wire.TYPE_HANDSHAKE_INITIATION;
        Wire.writeInt(out, off + Wire.INDEX_OFFSET, proposedIndex);
        Wire.writeLong(scratch, 0, timestampNanos);
        int n = initiator.writeMessage(scratch, 0, Wire.TIMESTAMP_LENGTH, out, off + Wire.INITIATION_NOISE_OFFSET);
        if (n != Wire.INITIATION_NOISE_LENGTH) {
            throw new IllegalStateException("Noise message 1 is " + n + " bytes, the protocol needs "
                    + Wire.INITIATION_NOISE_LENGTH);
        }
        return Wire.INITIATION_LENGTH;
    }

    /** The session index the client proposed. The datagram must have passed {@link Messages#checkToServer}. */
    public static int proposedIndex(byte[] d, int off) {
        return Wire.readInt(d, off + Wire.INDEX_OFFSET);
    }

    /**
     * Runs the responder's side of Noise message 1 and returns the client's timestamp.
     *
     * <p>The fixed 104-byte Noise message always carries exactly the 8 timestamp bytes.
     *
     * @param scratch receives the decrypted payload; at least 8 bytes
     * @throws HandshakeException if the Noise message does not authenticate
     */
    public static long read(NoiseHandshake responder, byte[] d, int off, byte[] scratch) throws HandshakeException {
        responder.readMessage(d, off + Wire.INITIATION_NOISE_OFFSET, Wire.INITIATION_NOISE_LENGTH, scratch, 0);
        return Wire.readLong(scratch, 0);
    }
}
