package dev.natpunch.protocol;

/**
 * First-line validation of received datagrams: type byte and exact length, nothing else. A
 * datagram that passes is safe to hand to the codec of its type, which reads fixed offsets only.
 */
public final class Messages {
    private Messages() {
    }

    /**
     * Checks a datagram received by a server (types 1 and 3).
     *
     * @return {@code null} when the datagram is a well-formed handshake initiation or lookup
     *     request (its type is then {@code d[off]}), otherwise why it must be dropped
     */
    public static Rejection checkToServer(byte[] d, int off, int len) {
        if (len <= 0) {
            return Rejection.EMPTY;
        }
        switch (d[off]) {
            case Wire.TYPE_HANDSHAKE_INITIATION:
                return exactly(len, Wire.INITIATION_LENGTH);
            case Wire.TYPE_DATA:
                return exactly(len, Wire.LOOKUP_REQUEST_LENGTH);
            case Wire.TYPE_HANDSHAKE_RESPONSE:
                return Rejection.WRONG_DIRECTION;
            default:
                return Rejection.UNKNOWN_TYPE;
        }
    }

    /**
     * Checks a datagram received by a client (types 2 and 3).
     *
     * @return {@code null} when the datagram is a well-formed handshake response or lookup
     *     response, otherwise why it must be ignored
     */
    public static Rejection checkToClient(byte[] d, int off, int len) {
        if (len <= 0) {
            return Rejection.EMPTY;
        }
        switch (d[off]) {
            case Wire.TYPE_HANDSHAKE_RESPONSE:
                return exactly(len, Wire.RESPONSE_LENGTH);
            case Wire.TYPE_DATA:
                if (len == Wire.LOOKUP_RESPONSE_FOUND_LENGTH || len == Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH) {
                    return null;
                }
                if (len < Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH) {
                    return Rejection.TOO_SHORT;
                }
                return len > Wire.LOOKUP_RESPONSE_FOUND_LENGTH ? Rejection.TOO_LONG : Rejection.WRONG_LENGTH;
            case Wire.TYPE_HANDSHAKE_INITIATION:
                return Rejection.WRONG_DIRECTION;
            default:
                return Rejection.UNKNOWN_TYPE;
        }
    }

    private static Rejection exactly(int len, int expected) {
        if (len < expected) {
            return Rejection.TOO_SHORT;
        }
        return len > expected ? Rejection.TOO_LONG : null;
    }
}
