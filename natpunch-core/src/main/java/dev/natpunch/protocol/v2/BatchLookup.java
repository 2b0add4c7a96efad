package dev.natpunch.protocol.v2;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.Wire;

/**
 * LOOKUP (kind 0x01) and LOOKUP_RESULT (kind 0x81).
 *
 * <p>Request body: want (1), then 1 to 37 peer keys (32 each). Result body: answered (1), then one
 * entry per found peer among request positions {@code 0 .. answered-1}, in increasing position:
 * position (1), version (4), endpoint count c (1, 1 to 8), c endpoints (19 each). A position below
 * {@code answered} without an entry is "not found" (which includes "not allowed"); positions from
 * {@code answered} on did not fit and must be asked again.
 *
 * <p>All offsets below are plaintext offsets: {@code off} is where the inner header starts.
 */
public final class BatchLookup {
    /** Bytes of an entry before its endpoints: position, version, count. */
    public static final int ENTRY_HEADER_LENGTH = 6;

    private BatchLookup() {
    }

    /**
     * Writes a request for {@code keys[from .. from+count)}.
     *
     * @return the plaintext length, {@code 8 + 32 * count}
     */
    public static int writeRequest(byte[] p, int off, int id, int want, Key[] keys, int from, int count) {
        Bodies.requireWant(want);
        if (count < 1 || count > V2Wire.MAX_LOOKUP_KEYS) {
            throw new IllegalArgumentException("a lookup asks for 1 to " + V2Wire.MAX_LOOKUP_KEYS + " keys, not " + count);
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_LOOKUP, id, 1 + Key.LENGTH * count);
        p[body] = (byte) want;
        for (int i = 0; i < count; i++) {
            keys[from + i].copyTo(p, body + 1 + Key.LENGTH * i);
        }
        return V2Wire.INNER_HEADER_LENGTH + 1 + Key.LENGTH * count;
    }

    static V2Rejection checkRequestBody(byte[] p, int body, int len) {
        if (len < 1 || (len - 1) % Key.LENGTH != 0) {
            return V2Rejection.WRONG_LENGTH;
        }
        int keys = (len - 1) / Key.LENGTH;
        if (keys < 1 || keys > V2Wire.MAX_LOOKUP_KEYS) {
            return V2Rejection.COUNT;
        }
        return Bodies.checkWant(p[body] & 0xff);
    }

    public static int want(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    public static int keyCount(byte[] p, int off) {
        return (Sealed.bodyLength(p, off) - 1) / Key.LENGTH;
    }

    /** Where the key at request position {@code i} starts. */
    public static int keyOffset(int off, int i) {
        return Sealed.bodyOffset(off) + 1 + Key.LENGTH * i;
    }

    /** Bytes an entry with {@code endpoints} endpoints takes. */
    public static int entryLength(int endpoints) {
        return ENTRY_HEADER_LENGTH + WireEndpoint.LENGTH * endpoints;
    }

    /**
     * Starts a result: writes kind and id. Follow with {@link #writeEntryHeader} and the
     * entries' endpoints, then {@link #finishResult}.
     *
     * @return where the first entry goes
     */
    public static int beginResult(byte[] p, int off, int id) {
        Sealed.writeInnerHeader(p, off, V2Wire.KIND_LOOKUP_RESULT, id, 0);
        return Sealed.bodyOffset(off) + 1;
    }

    /**
     * Writes an entry's header at {@code pos}; its {@code endpoints} endpoints follow at the
     * returned offset, written with {@link WireEndpoint#writeIpv4} or {@link WireEndpoint#writeIpv6}.
     */
    public static int writeEntryHeader(byte[] p, int pos, int position, int version, int endpoints) {
        if (endpoints < 1 || endpoints > V2Wire.MAX_ENDPOINTS_PER_PEER) {
            throw new IllegalArgumentException("an entry has 1 to 8 endpoints, not " + endpoints);
        }
        p[pos] = (byte) position;
        Wire.writeInt(p, pos + 1, version);
        p[pos + 5] = (byte) endpoints;
        return pos + ENTRY_HEADER_LENGTH;
    }

    /**
     * Completes a result whose last entry ends at {@code end}.
     *
     * @param answered how many request positions, from 0, the entries cover
     * @return the plaintext length
     */
    public static int finishResult(byte[] p, int off, int end, int answered) {
        int body = Sealed.bodyOffset(off);
        Wire.writeShort(p, off + V2Wire.INNER_BODY_LENGTH_OFFSET, end - body);
        p[body] = (byte) answered;
        return end - off;
    }

    static V2Rejection checkResultBody(byte[] p, int body, int len) {
        if (len < 1) {
            return V2Rejection.WRONG_LENGTH;
        }
        int answered = p[body] & 0xff;
        if (answered > V2Wire.MAX_LOOKUP_KEYS) {
            return V2Rejection.COUNT;
        }
        int end = body + len;
        int e = body + 1;
        int previous = -1;
        while (e < end) {
            if (end - e < ENTRY_HEADER_LENGTH) {
                return V2Rejection.WRONG_LENGTH;
            }
            int position = p[e] & 0xff;
            if (position <= previous || position >= answered) {
                return V2Rejection.ORDER;
            }
            previous = position;
            int c = p[e + 5] & 0xff;
            if (c < 1 || c > V2Wire.MAX_ENDPOINTS_PER_PEER) {
                return V2Rejection.COUNT;
            }
            if (end - e < entryLength(c)) {
                return V2Rejection.WRONG_LENGTH;
            }
            V2Rejection r = Bodies.checkEndpoints(p, e + ENTRY_HEADER_LENGTH, c, WireEndpoint.KINDS_PEER);
            if (r != null) {
                return r;
            }
            e += entryLength(c);
        }
        return null;
    }

    public static int answered(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    /** Where the first entry of the result at {@code off} starts. */
    public static int firstEntry(int off) {
        return Sealed.bodyOffset(off) + 1;
    }

    /** Where the result's entries end: iterate while the entry offset is below this. */
    public static int entriesEnd(byte[] p, int off) {
        return Sealed.bodyOffset(off) + Sealed.bodyLength(p, off);
    }

    public static int entryPosition(byte[] p, int e) {
        return p[e] & 0xff;
    }

    public static int entryVersion(byte[] p, int e) {
        return Wire.readInt(p, e + 1);
    }

    public static int entryEndpointCount(byte[] p, int e) {
        return p[e + 5] & 0xff;
    }

    public static int entryEndpoint(int e, int i) {
        return e + ENTRY_HEADER_LENGTH + WireEndpoint.LENGTH * i;
    }

    public static int nextEntry(byte[] p, int e) {
        return e + entryLength(entryEndpointCount(p, e));
    }
}
