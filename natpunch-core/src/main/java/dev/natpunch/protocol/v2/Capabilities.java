package dev.natpunch.protocol.v2;

import dev.natpunch.protocol.Wire;

/**
 * The capability block of a handshake message: TLVs after the 8-byte timestamp of message 1 (the
 * client's offer) or as the whole payload of message 2 (the server's answer). Each TLV is a type
 * byte, a length byte and that many value bytes; unknown types are skipped, so the block can grow.
 *
 * <p>An immutable value; {@code observedEndpoint} and {@code sessionLifetimeSeconds} only appear
 * in the server's answer ({@code null} and 0 when absent).
 *
 * @param version in an offer the highest version the client speaks, in an answer the version the
 *     session uses; at least 2
 * @param features feature bits ({@code V2Wire.FEATURE_*}); in an answer a subset of the offer's
 */
public record Capabilities(int version, long features, WireEndpoint observedEndpoint, int sessionLifetimeSeconds) {
    public Capabilities {
        if (version < 2 || version > 255) {
            throw new IllegalArgumentException("a capability block announces version 2 to 255, not " + version);
        }
        if (sessionLifetimeSeconds < 0 || sessionLifetimeSeconds > 65535) {
            throw new IllegalArgumentException("session lifetime must be 0 to 65535 seconds");
        }
        if (observedEndpoint != null && observedEndpoint.kind() != WireEndpoint.Kind.SERVER_REFLEXIVE) {
            throw new IllegalArgumentException("the observed endpoint is server-reflexive");
        }
    }

    /** A client's offer. */
    public static Capabilities offer(int highestVersion, long features) {
        return new Capabilities(highestVersion, features, null, 0);
    }

    /**
     * The server's answer to {@code offer}: the lower of the two versions, the features both
     * have.
     *
     * @param observed the source of message 1 as the server saw it, or {@code null}
     * @param lifetimeSeconds how long the server keeps the session, or 0 to leave it out
     */
    public static Capabilities answer(Capabilities offer, int serverHighestVersion, long serverFeatures,
                                      WireEndpoint observed, int lifetimeSeconds) {
        return new Capabilities(Math.min(offer.version, serverHighestVersion), offer.features & serverFeatures,
                observed, lifetimeSeconds);
    }

    /**
     * Whether this answer may follow {@code offer}: no higher version and no feature the client
     * did not offer. A client that gets an answer failing this stays on version 1.
     */
    public boolean isValidAnswerTo(Capabilities offer) {
        return version <= offer.version && (features & ~offer.features) == 0;
    }

    /** Whether every bit of {@code feature} is enabled. */
    public boolean has(long feature) {
        return (features & feature) == feature;
    }

    /** Bytes {@link #encode} writes. */
    public int encodedLength() {
        return 3 + 10 + (observedEndpoint != null ? 2 + WireEndpoint.LENGTH : 0) + (sessionLifetimeSeconds != 0 ? 4 : 0);
    }

    /**
     * Writes the TLVs in type order: VERSION, FEATURES, then OBSERVED_ENDPOINT and
     * SESSION_LIFETIME when present.
     *
     * @return the number of bytes written
     */
    public int encode(byte[] out, int off) {
        int p = off;
        out[p++] = V2Wire.TLV_VERSION;
        out[p++] = 1;
        out[p++] = (byte) version;
        out[p++] = V2Wire.TLV_FEATURES;
        out[p++] = 8;
        Wire.writeLong(out, p, features);
        p += 8;
        if (observedEndpoint != null) {
            out[p++] = V2Wire.TLV_OBSERVED_ENDPOINT;
            out[p++] = WireEndpoint.LENGTH;
            p = observedEndpoint.write(out, p);
        }
        if (sessionLifetimeSeconds != 0) {
            out[p++] = V2Wire.TLV_SESSION_LIFETIME;
            out[p++] = 2;
            Wire.writeShort(out, p, sessionLifetimeSeconds);
            p += 2;
        }
        return p - off;
    }

    /**
     * Checks a block of {@code len} bytes. An empty block is a version 1 peer, not an error:
     * callers test {@code len == 0} first.
     *
     * @param fromServer whether the block is a server's answer (message 2); OBSERVED_ENDPOINT and
     *     SESSION_LIFETIME are known only there and skipped like unknown types in an offer
     * @return {@code null} if {@link #read} may be called
     */
    public static V2Rejection check(byte[] b, int off, int len, boolean fromServer) {
        if (len > V2Wire.MAX_CAPABILITY_BLOCK) {
            return V2Rejection.TOO_LONG;
        }
        int seen = 0;
        int p = off;
        int end = off + len;
        while (p < end) {
            if (end - p < V2Wire.TLV_HEADER_LENGTH) {
                return V2Rejection.TLV_TRUNCATED;
            }
            int type = b[p] & 0xff;
            int vlen = b[p + 1] & 0xff;
            int v = p + V2Wire.TLV_HEADER_LENGTH;
            if (end - v < vlen) {
                return V2Rejection.TLV_TRUNCATED;
            }
            int expected = expectedLength(type, fromServer);
            if (expected >= 0) {
                if ((seen & 1 << type) != 0) {
                    return V2Rejection.TLV_DUPLICATE;
                }
                seen |= 1 << type;
                if (vlen != expected) {
                    return V2Rejection.TLV_LENGTH;
                }
                if (type == V2Wire.TLV_VERSION && (b[v] & 0xff) < 2) {
                    return V2Rejection.VERSION;
                }
                if (type == V2Wire.TLV_OBSERVED_ENDPOINT) {
                    V2Rejection r = WireEndpoint.check(b, v, WireEndpoint.Kind.SERVER_REFLEXIVE.bit());
                    if (r != null) {
                        return r;
                    }
                }
            }
            p = v + vlen;
        }
        return (seen & 1 << V2Wire.TLV_VERSION) == 0 ? V2Rejection.VERSION : null;
    }

    /** Reads a block that passed {@link #check} with the same {@code fromServer}. */
    public static Capabilities read(byte[] b, int off, int len, boolean fromServer) {
        int version = 0;
        long features = 0;
        WireEndpoint observed = null;
        int lifetime = 0;
        int p = off;
        int end = off + len;
        while (p < end) {
            int type = b[p] & 0xff;
            int vlen = b[p + 1] & 0xff;
            int v = p + V2Wire.TLV_HEADER_LENGTH;
            if (expectedLength(type, fromServer) >= 0) {
                switch (type) {
                    case V2Wire.TLV_VERSION -> version = b[v] & 0xff;
                    case V2Wire.TLV_FEATURES -> features = Wire.readLong(b, v);
                    case V2Wire.TLV_OBSERVED_ENDPOINT -> observed = WireEndpoint.read(b, v);
                    case V2Wire.TLV_SESSION_LIFETIME -> lifetime = Wire.readUnsignedShort(b, v);
                    default -> throw new IllegalStateException("unreachable TLV type " + type);
                }
            }
            p = v + vlen;
        }
        return new Capabilities(version, features, observed, lifetime);
    }

    /** The value length of a known TLV type, or -1 for a type to skip (unknown, padding, or the other direction's). */
    private static int expectedLength(int type, boolean fromServer) {
        switch (type) {
            case V2Wire.TLV_VERSION:
                return 1;
            case V2Wire.TLV_FEATURES:
                return 8;
            case V2Wire.TLV_OBSERVED_ENDPOINT:
                return fromServer ? WireEndpoint.LENGTH : -1;
            case V2Wire.TLV_SESSION_LIFETIME:
                return fromServer ? 2 : -1;
            default:
                return -1;
        }
    }
}
