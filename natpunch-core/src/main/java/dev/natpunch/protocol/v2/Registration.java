package dev.natpunch.protocol.v2;

import java.util.List;

/**
 * REGISTER (kind 0x04) and REGISTER_RESULT (kind 0x84).
 *
 * <p>A REGISTER registers its own source address as the client's server-reflexive endpoint for
 * that address family (so one sent to the server's IPv6 address adds the IPv6 family), and with
 * {@link #FLAG_REPLACE_CANDIDATES} replaces the client's local candidates. Request body: flags (1),
 * then 0 to 8 local endpoints (19 each; none without the flag). Result body: the request's source
 * as the server saw it (19, server-reflexive), then how many candidates the server kept (1).
 */
public final class Registration {
    /** The endpoints in this request replace the client's local candidates (none: clears them). */
    public static final int FLAG_REPLACE_CANDIDATES = 0x01;
    /** Body length of a result. */
    public static final int RESULT_BODY_LENGTH = WireEndpoint.LENGTH + 1;

    private Registration() {
    }

    /** @return the plaintext length, {@code 8 + 19 * candidates.size()} */
    public static int writeRequest(byte[] p, int off, int id, boolean replaceCandidates, List<WireEndpoint> candidates) {
        int n = candidates.size();
        if (n > V2Wire.MAX_CANDIDATES || n > 0 && !replaceCandidates) {
            throw new IllegalArgumentException(n + " candidates (at most 8, and only when replacing)");
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_REGISTER, id, 1 + WireEndpoint.LENGTH * n);
        p[body] = (byte) (replaceCandidates ? FLAG_REPLACE_CANDIDATES : 0);
        int pos = body + 1;
        for (WireEndpoint c : candidates) {
            if (c.kind() != WireEndpoint.Kind.LOCAL) {
                throw new IllegalArgumentException("a client registers only local candidates, not " + c.kind());
            }
            pos = c.write(p, pos);
        }
        return pos - off;
    }

    static V2Rejection checkRequestBody(byte[] p, int body, int len) {
        if (len < 1 || (len - 1) % WireEndpoint.LENGTH != 0) {
            return V2Rejection.WRONG_LENGTH;
        }
        int flags = p[body] & 0xff;
        if ((flags & ~FLAG_REPLACE_CANDIDATES) != 0) {
            return V2Rejection.RESERVED_BITS;
        }
        int n = (len - 1) / WireEndpoint.LENGTH;
        if (n > V2Wire.MAX_CANDIDATES || n > 0 && flags == 0) {
            return V2Rejection.COUNT;
        }
        return Bodies.checkEndpoints(p, body + 1, n, WireEndpoint.Kind.LOCAL.bit());
    }

    public static boolean replacesCandidates(byte[] p, int off) {
        return (p[Sealed.bodyOffset(off)] & FLAG_REPLACE_CANDIDATES) != 0;
    }

    public static int candidateCount(byte[] p, int off) {
        return (Sealed.bodyLength(p, off) - 1) / WireEndpoint.LENGTH;
    }

    public static int candidateOffset(int off, int i) {
        return Sealed.bodyOffset(off) + 1 + WireEndpoint.LENGTH * i;
    }

    /**
     * Writes a result's header and the accepted count; the caller writes the observed endpoint
     * at {@link #observedOffset} (with {@link WireEndpoint#writeIpv4} or {@link WireEndpoint#writeIpv6}).
     *
     * @return the plaintext length, 27
     */
    public static int writeResult(byte[] p, int off, int id, int accepted) {
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_REGISTER_RESULT, id, RESULT_BODY_LENGTH);
        p[body + WireEndpoint.LENGTH] = (byte) accepted;
        return V2Wire.INNER_HEADER_LENGTH + RESULT_BODY_LENGTH;
    }

    static V2Rejection checkResultBody(byte[] p, int body, int len) {
        if (len != RESULT_BODY_LENGTH) {
            return V2Rejection.WRONG_LENGTH;
        }
        if ((p[body + WireEndpoint.LENGTH] & 0xff) > V2Wire.MAX_CANDIDATES) {
            return V2Rejection.COUNT;
        }
        return WireEndpoint.check(p, body, WireEndpoint.Kind.SERVER_REFLEXIVE.bit());
    }

    public static int observedOffset(int off) {
        return Sealed.bodyOffset(off);
    }

    public static int accepted(byte[] p, int off) {
        return p[Sealed.bodyOffset(off) + WireEndpoint.LENGTH] & 0xff;
    }
}
