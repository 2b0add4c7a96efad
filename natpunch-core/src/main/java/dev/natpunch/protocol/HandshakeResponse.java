package dev.natpunch.protocol;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.NoiseHandshake;

/**
 * Message 2, server to client (53 bytes): type 2, the session index the server assigned (4), and
 * Noise message 2 with an empty payload (48).
 */
public final class HandshakeResponse {
    private static final byte[] EMPTY = new byte[0];

    private HandshakeResponse() {
    }

    /**
     * Writes a complete response into {@code out} at {@code off}.
     *
     * @return the number of bytes written (always {@link Wire#RESPONSE_LENGTH})
     */
    public static int encode(NoiseHandshake responder, int assignedIndex, byte[] out, int off) {
        out[off] = Wire.TYPE_HANDSHAKE_RESPONSE;
        Wire.writeInt(out, off + Wire.INDEX_OFFSET, assignedIndex);
        int n = responder.writeMessage(EMPTY, 0, 0, out, off + Wire.RESPONSE_NOISE_OFFSET);
        if (n != Wire.RESPONSE_NOISE_LENGTH) {
            throw new IllegalStateException("Noise message 2 is " + n + " bytes, the protocol needs "
                    + Wire.RESPONSE_NOISE_LENGTH);
        }
        return Wire.RESPONSE_LENGTH;
    }

    /** The session index the server assigned. The datagram must have passed {@link Messages#checkToClient}. */
    public static int assignedIndex(byte[] d, int off) {
        return Wire.readInt(d, off + Wire.INDEX_OFFSET);
    }

    /**
     * Runs the initiator's side of Noise message 2. Any payload is ignored, as natpunch-go's client
     * does.
     *
     * @param scratch receives the (normally empty) payload; must hold what a 53-byte message can carry
     */
    public static void read(NoiseHandshake initiator, byte[] d, int off, byte[] scratch) throws HandshakeException {
        initiator.readMessage(d, off + Wire.RESPONSE_NOISE_OFFSET, Wire.RESPONSE_NOISE_LENGTH, scratch, 0);
    }
}
