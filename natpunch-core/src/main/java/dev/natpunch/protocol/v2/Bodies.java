package dev.natpunch.protocol.v2;

/** Checks shared by several bodies. */
final class Bodies {
    private Bodies() {
    }

    /** A "want" byte needs at least one family bit, at least one kind bit, and nothing else. */
    static V2Rejection checkWant(int want) {
        if ((want & ~V2Wire.WANT_ALL) != 0) {
            return V2Rejection.RESERVED_BITS;
        }
        if ((want & (V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6)) == 0
                || (want & (V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_LOCAL | V2Wire.WANT_RELAY)) == 0) {
            return V2Rejection.RESERVED_BITS;
        }
        return null;
    }

    static void requireWant(int want) {
        if (checkWant(want) != null) {
            throw new IllegalArgumentException("invalid want byte 0x" + Integer.toHexString(want));
        }
    }

    /** Checks {@code count} endpoints of the given kinds, back to back from {@code p}. */
    static V2Rejection checkEndpoints(byte[] b, int p, int count, int allowedKinds) {
        for (int i = 0; i < count; i++) {
            V2Rejection r = WireEndpoint.check(b, p + i * WireEndpoint.LENGTH, allowedKinds);
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    static V2Rejection exactly(int len, int expected) {
        return len == expected ? null : V2Rejection.WRONG_LENGTH;
    }
}
