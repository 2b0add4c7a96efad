package dev.natpunch.protocol.v2;

import java.util.List;

/**
 * INFO (kind 0x06) and INFO_RESULT (kind 0x86): which addresses and ports the server listens on,
 * for registering a second address family and for NAT probing. Request body: empty (the request
 * is padded so that the answer is not larger). Result body: 1 to 8 endpoints of server kinds.
 */
public final class ServerInfo {
    private ServerInfo() {
    }

    /** @return the plaintext length, 7 */
    public static int writeRequest(byte[] p, int off, int id) {
        Sealed.writeInnerHeader(p, off, V2Wire.KIND_INFO, id, 0);
        return V2Wire.INNER_HEADER_LENGTH;
    }

    static V2Rejection checkRequestBody(int len) {
        return Bodies.exactly(len, 0);
    }

    /** @return the plaintext length, {@code 7 + 19 * endpoints.size()} */
    public static int writeResult(byte[] p, int off, int id, List<WireEndpoint> endpoints) {
        int n = endpoints.size();
        if (n < 1 || n > V2Wire.MAX_SERVER_ENDPOINTS) {
            throw new IllegalArgumentException("an INFO result lists 1 to 8 endpoints, not " + n);
        }
        int pos = Sealed.writeInnerHeader(p, off, V2Wire.KIND_INFO_RESULT, id, WireEndpoint.LENGTH * n);
        for (WireEndpoint e : endpoints) {
            if ((WireEndpoint.KINDS_SERVER & e.kind().bit()) == 0) {
                throw new IllegalArgumentException("not a server endpoint kind: " + e.kind());
            }
            pos = e.write(p, pos);
        }
        return pos - off;
    }

    static V2Rejection checkResultBody(byte[] p, int body, int len) {
        if (len % WireEndpoint.LENGTH != 0) {
            return V2Rejection.WRONG_LENGTH;
        }
        int n = len / WireEndpoint.LENGTH;
        if (n < 1 || n > V2Wire.MAX_SERVER_ENDPOINTS) {
            return V2Rejection.COUNT;
        }
        return Bodies.checkEndpoints(p, body, n, WireEndpoint.KINDS_SERVER);
    }

    public static int endpointCount(byte[] p, int off) {
        return Sealed.bodyLength(p, off) / WireEndpoint.LENGTH;
    }

    public static int endpointOffset(int off, int i) {
        return Sealed.bodyOffset(off) + WireEndpoint.LENGTH * i;
    }
}
