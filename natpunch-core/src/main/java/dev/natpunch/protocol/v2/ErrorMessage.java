package dev.natpunch.protocol.v2;

/**
 * ERROR (kind 0xff), server to client, answering the request with the same id. Body: code (1).
 * There is deliberately no code for "denied" or "not found": those are answered as not found.
 */
public final class ErrorMessage {
    /** The request decrypted but its plaintext broke a rule of this specification. */
    public static final int MALFORMED = 1;
    /** The kind is unknown to the server or its feature was not negotiated in this session. */
    public static final int UNSUPPORTED = 2;
    /** The server cannot do what was asked (e.g. a probe from an alternate address it does not have). */
    public static final int UNAVAILABLE = 3;
    /** The session sends faster than the server's limit; retry later. */
    public static final int RATE_LIMITED = 4;

    private ErrorMessage() {
    }

    /** @return the plaintext length, 8 */
    public static int write(byte[] p, int off, int id, int code) {
        if (code < MALFORMED || code > RATE_LIMITED) {
            throw new IllegalArgumentException("unknown error code " + code);
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_ERROR, id, 1);
        p[body] = (byte) code;
        return V2Wire.INNER_HEADER_LENGTH + 1;
    }

    static V2Rejection checkBody(byte[] p, int body, int len) {
        if (len != 1) {
            return V2Rejection.WRONG_LENGTH;
        }
        int code = p[body] & 0xff;
        return code >= MALFORMED && code <= RATE_LIMITED ? null : V2Rejection.STATUS;
    }

    public static int code(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }
}
