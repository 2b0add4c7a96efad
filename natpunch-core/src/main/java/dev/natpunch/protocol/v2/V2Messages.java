package dev.natpunch.protocol.v2;

/**
 * Validation of a decrypted sealed plaintext: the inner header, zero padding, the kind and the
 * whole body of that kind. A plaintext that passes is safe to read with the accessors of its
 * kind's codec.
 */
public final class V2Messages {
    private V2Messages() {
    }

    /**
     * Checks a plaintext a server decrypted from a type 4 datagram.
     *
     * @return {@code null} if well formed; {@link V2Rejection#UNKNOWN_KIND} means the header is
     *     sound (kind and id readable) and the server answers with an
     *     {@link ErrorMessage#UNSUPPORTED} error
     */
    public static V2Rejection checkToServer(byte[] p, int off, int len) {
        V2Rejection r = checkFrame(p, off, len);
        if (r != null) {
            return r;
        }
        int body = Sealed.bodyOffset(off);
        int blen = Sealed.bodyLength(p, off);
        switch (Sealed.kind(p, off)) {
            case V2Wire.KIND_LOOKUP:
                return BatchLookup.checkRequestBody(p, body, blen);
            case V2Wire.KIND_SUBSCRIBE:
                return Subscription.checkRequestBody(p, body, blen);
            case V2Wire.KIND_PUSH_ACK:
                return Push.checkAckBody(blen);
            case V2Wire.KIND_REGISTER:
                return Registration.checkRequestBody(p, body, blen);
            case V2Wire.KIND_PROBE:
                return Probe.checkRequestBody(p, body, blen);
            case V2Wire.KIND_INFO:
                return ServerInfo.checkRequestBody(blen);
            case V2Wire.KIND_RELAY:
                return RelayControl.checkRequestBody(p, body, blen);
            default:
                return isToClientKind(Sealed.kind(p, off)) ? V2Rejection.WRONG_DIRECTION : V2Rejection.UNKNOWN_KIND;
        }
    }

    /**
     * Checks a plaintext a client decrypted from a type 5 datagram. A client ignores what fails,
     * including {@link V2Rejection#UNKNOWN_KIND}.
     */
    public static V2Rejection checkToClient(byte[] p, int off, int len) {
        V2Rejection r = checkFrame(p, off, len);
        if (r != null) {
            return r;
        }
        int body = Sealed.bodyOffset(off);
        int blen = Sealed.bodyLength(p, off);
        switch (Sealed.kind(p, off)) {
            case V2Wire.KIND_LOOKUP_RESULT:
                return BatchLookup.checkResultBody(p, body, blen);
            case V2Wire.KIND_SUBSCRIBE_RESULT:
                return Subscription.checkResultBody(p, body, blen);
            case V2Wire.KIND_PUSH_UPDATE:
                return Push.checkUpdateBody(p, body, blen);
            case V2Wire.KIND_REGISTER_RESULT:
                return Registration.checkResultBody(p, body, blen);
            case V2Wire.KIND_PROBE_RESULT:
                return Probe.checkResultBody(p, body, blen);
            case V2Wire.KIND_INFO_RESULT:
                return ServerInfo.checkResultBody(p, body, blen);
            case V2Wire.KIND_RELAY_RESULT:
                return RelayControl.checkResultBody(p, body, blen);
            case V2Wire.KIND_ERROR:
                return ErrorMessage.checkBody(p, body, blen);
            default:
                return isToServerKind(Sealed.kind(p, off)) ? V2Rejection.WRONG_DIRECTION : V2Rejection.UNKNOWN_KIND;
        }
    }

    /** The feature a client-to-server kind needs, 0 for kinds every version 2 session has. */
    public static long featureOf(byte kind) {
        switch (kind) {
            case V2Wire.KIND_LOOKUP:
                return V2Wire.FEATURE_BATCH_LOOKUP;
            case V2Wire.KIND_SUBSCRIBE:
            case V2Wire.KIND_PUSH_ACK:
                return V2Wire.FEATURE_PUSH;
            case V2Wire.KIND_PROBE:
                return V2Wire.FEATURE_NAT_PROBE;
            case V2Wire.KIND_RELAY:
                return V2Wire.FEATURE_RELAY;
            default:
                return 0;
        }
    }

    private static V2Rejection checkFrame(byte[] p, int off, int len) {
        if (len < V2Wire.INNER_HEADER_LENGTH) {
            return V2Rejection.TOO_SHORT;
        }
        if (len > V2Wire.MAX_PLAINTEXT) {
            return V2Rejection.TOO_LONG;
        }
        int end = Sealed.bodyOffset(off) + Sealed.bodyLength(p, off);
        if (end > off + len) {
            return V2Rejection.BODY_LENGTH;
        }
        int nonzero = 0;
        for (int i = end; i < off + len; i++) {
            nonzero |= p[i];
        }
        return nonzero != 0 ? V2Rejection.NONZERO_PADDING : null;
    }

    private static boolean isToServerKind(byte kind) {
        return kind >= V2Wire.KIND_LOOKUP && kind <= V2Wire.KIND_RELAY;
    }

    private static boolean isToClientKind(byte kind) {
        return kind == V2Wire.KIND_ERROR || kind >= V2Wire.KIND_LOOKUP_RESULT && kind <= V2Wire.KIND_RELAY_RESULT;
    }
}
