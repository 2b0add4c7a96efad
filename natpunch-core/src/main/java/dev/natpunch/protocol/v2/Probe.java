package dev.natpunch.protocol.v2;

/**
 * PROBE (kind 0x05) and PROBE_RESULT (kind 0x85), the NAT behaviour test in the manner of
 * RFC 5780. The client sends a PROBE to any of the server's endpoints (primary or alternate, from
 * an INFO result); the server answers to the probe's source, from the socket the flags ask for.
 *
 * <p>Request body: flags (1). Result body: the probe's source as the server saw it (19,
 * server-reflexive), then the server endpoint the answer was sent from (19, a server kind).
 */
public final class Probe {
    /** Answer from the other port (RFC 5780 CHANGE-REQUEST "change port"). */
    public static final int FLAG_CHANGE_PORT = 0x01;
    /** Answer from the other address (RFC 5780 CHANGE-REQUEST "change IP"). */
    public static final int FLAG_CHANGE_ADDRESS = 0x02;
    /** Body length of a result. */
    public static final int RESULT_BODY_LENGTH = 2 * WireEndpoint.LENGTH;

    private Probe() {
    }

    /** @return the plaintext length, 8 */
    public static int writeRequest(byte[] p, int off, int id, int flags) {
        if ((flags & ~(FLAG_CHANGE_PORT | FLAG_CHANGE_ADDRESS)) != 0) {
            throw new IllegalArgumentException("unknown probe flags 0x" + Integer.toHexString(flags));
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_PROBE, id, 1);
        p[body] = (byte) flags;
        return V2Wire.INNER_HEADER_LENGTH + 1;
    }

    static V2Rejection checkRequestBody(byte[] p, int body, int len) {
        if (len != 1) {
            return V2Rejection.WRONG_LENGTH;
        }
        return (p[body] & ~(FLAG_CHANGE_PORT | FLAG_CHANGE_ADDRESS)) != 0 ? V2Rejection.RESERVED_BITS : null;
    }

    public static int flags(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    /**
     * Writes a result's header; the caller writes the two endpoints at {@link #mappedOffset} and
     * {@link #originOffset}.
     *
     * @return the plaintext length, 45
     */
    public static int writeResult(byte[] p, int off, int id) {
        Sealed.writeInnerHeader(p, off, V2Wire.KIND_PROBE_RESULT, id, RESULT_BODY_LENGTH);
        return V2Wire.INNER_HEADER_LENGTH + RESULT_BODY_LENGTH;
    }

    static V2Rejection checkResultBody(byte[] p, int body, int len) {
        if (len != RESULT_BODY_LENGTH) {
            return V2Rejection.WRONG_LENGTH;
        }
        V2Rejection r = WireEndpoint.check(p, body, WireEndpoint.Kind.SERVER_REFLEXIVE.bit());
        return r != null ? r : WireEndpoint.check(p, body + WireEndpoint.LENGTH, WireEndpoint.KINDS_SERVER);
    }

    public static int mappedOffset(int off) {
        return Sealed.bodyOffset(off);
    }

    public static int originOffset(int off) {
        return Sealed.bodyOffset(off) + WireEndpoint.LENGTH;
    }
}
