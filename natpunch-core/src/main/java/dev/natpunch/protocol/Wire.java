package dev.natpunch.protocol;

/**
 * Message types, fixed lengths and field offsets of protocol version 1, plus big-endian integer
 * helpers. Offsets are relative to the first byte of the datagram.
 */
public final class Wire {
    private Wire() {
    }

    public static final byte TYPE_HANDSHAKE_INITIATION = 1;
    public static final byte TYPE_HANDSHAKE_RESPONSE = 2;
    public static final byte TYPE_DATA = 3;

    /** Offset of the 4-byte session index in types 1, 2 and the lookup request. */
    public static final int INDEX_OFFSET = 1;

    /** Noise message 1 carries an 8-byte timestamp payload: 32 (e) + 48 (s) + 8 + 16 = 104. */
    public static final int TIMESTAMP_LENGTH = 8;
    public static final int INITIATION_NOISE_OFFSET = 5;
    public static final int INITIATION_NOISE_LENGTH = 104;
    public static final int INITIATION_LENGTH = INITIATION_NOISE_OFFSET + INITIATION_NOISE_LENGTH;

    /** Noise message 2 has an empty payload: 32 (e) + 16 (tag) = 48. */
    public static final int RESPONSE_NOISE_OFFSET = 5;
    public static final int RESPONSE_NOISE_LENGTH = 48;
    public static final int RESPONSE_LENGTH = RESPONSE_NOISE_OFFSET + RESPONSE_NOISE_LENGTH;

    /** AEAD tag appended to every ChaCha20-Poly1305 ciphertext. */
    public static final int TAG_LENGTH = 16;

    /** Lookup request plaintext: own public key (32) followed by the peer's public key (32). */
    public static final int LOOKUP_PLAINTEXT_LENGTH = 64;
    public static final int LOOKUP_OWN_KEY_OFFSET = 0;
    public static final int LOOKUP_PEER_KEY_OFFSET = 32;
    public static final int LOOKUP_REQUEST_COUNTER_OFFSET = 5;
    public static final int LOOKUP_REQUEST_CIPHERTEXT_OFFSET = 13;
    public static final int LOOKUP_REQUEST_CIPHERTEXT_LENGTH = LOOKUP_PLAINTEXT_LENGTH + TAG_LENGTH;
    public static final int LOOKUP_REQUEST_LENGTH =
            LOOKUP_REQUEST_CIPHERTEXT_OFFSET + LOOKUP_REQUEST_CIPHERTEXT_LENGTH;

    /** Lookup response plaintext when found: IPv4 address (4) followed by UDP port (2). */
    public static final int ENDPOINT_PLAINTEXT_LENGTH = 6;
    public static final int LOOKUP_RESPONSE_COUNTER_OFFSET = 1;
    public static final int LOOKUP_RESPONSE_CIPHERTEXT_OFFSET = 9;
    public static final int LOOKUP_RESPONSE_FOUND_LENGTH =
            LOOKUP_RESPONSE_CIPHERTEXT_OFFSET + ENDPOINT_PLAINTEXT_LENGTH + TAG_LENGTH;
    public static final int LOOKUP_RESPONSE_NOT_FOUND_LENGTH =
            LOOKUP_RESPONSE_CIPHERTEXT_OFFSET + TAG_LENGTH;

    /** The largest datagram of version 1; a receive buffer a little larger detects oversize input. */
    public static final int MAX_MESSAGE_LENGTH = INITIATION_LENGTH;

    public static int readInt(byte[] b, int off) {
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }

    public static void writeInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    public static long readLong(byte[] b, int off) {
        return (long) readInt(b, off) << 32 | (readInt(b, off + 4) & 0xffffffffL);
    }

    public static void writeLong(byte[] b, int off, long v) {
        writeInt(b, off, (int) (v >>> 32));
        writeInt(b, off + 4, (int) v);
    }

    public static int readUnsignedShort(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    public static void writeShort(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }
}
