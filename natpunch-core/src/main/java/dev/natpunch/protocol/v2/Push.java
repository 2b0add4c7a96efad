package dev.natpunch.protocol.v2;

import dev.natpunch.protocol.Wire;

/**
 * PUSH_UPDATE (kind 0x83, server to client, unsolicited) and PUSH_ACK (kind 0x03).
 *
 * <p>The update's inner id is the push id, chosen at random by the server; the ack repeats it
 * and has an empty body. Update body: one or more entries, each peer key (32), version (4),
 * endpoint count c (1, 0 to 8), c endpoints (19 each). c = 0 says the peer is no longer
 * registered (or no longer visible to this client).
 */
public final class Push {
    /** Bytes of an entry before its endpoints: key, version, count. */
    public static final int ENTRY_HEADER_LENGTH = 37;

    private Push() {
    }

    /** @return where the first entry goes */
    public static int beginUpdate(byte[] p, int off, int pushId) {
        return Sealed.writeInnerHeader(p, off, V2Wire.KIND_PUSH_UPDATE, pushId, 0);
    }

    /**
     * Writes an entry's header at {@code pos}: the 32 key bytes from {@code key[keyOff..]}.
     *
     * @return where the entry's endpoints go
     */
    public static int writeEntryHeader(byte[] p, int pos, byte[] key, int keyOff, int version, int endpoints) {
        if (endpoints < 0 || endpoints > V2Wire.MAX_ENDPOINTS_PER_PEER) {
            throw new IllegalArgumentException("an entry has 0 to 8 endpoints, not " + endpoints);
        }
        System.arraycopy(key, keyOff, p, pos, 32);
        Wire.writeInt(p, pos + 32, version);
        p[pos + 36] = (byte) endpoints;
        return pos + ENTRY_HEADER_LENGTH;
    }

    public static int entryLength(int endpoints) {
        return ENTRY_HEADER_LENGTH + WireEndpoint.LENGTH * endpoints;
    }

    /** @return the plaintext length */
    public static int finishUpdate(byte[] p, int off, int end) {
        Wire.writeShort(p, off + V2Wire.INNER_BODY_LENGTH_OFFSET, end - Sealed.bodyOffset(off));
        return end - off;
    }

    static V2Rejection checkUpdateBody(byte[] p, int body, int len) {
        if (len == 0) {
            return V2Rejection.COUNT;
        }
        int end = body + len;
        int e = body;
        while (e < end) {
            if (end - e < ENTRY_HEADER_LENGTH) {
                return V2Rejection.WRONG_LENGTH;
            }
            int c = p[e + 36] & 0xff;
            if (c > V2Wire.MAX_ENDPOINTS_PER_PEER) {
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

    public static int firstEntry(int off) {
        return Sealed.bodyOffset(off);
    }

    public static int entriesEnd(byte[] p, int off) {
        return Sealed.bodyOffset(off) + Sealed.bodyLength(p, off);
    }

    /** The peer key of the entry at {@code e} starts at {@code e}. */
    public static int entryKeyOffset(int e) {
        return e;
    }

    public static int entryVersion(byte[] p, int e) {
        return Wire.readInt(p, e + 32);
    }

    public static int entryEndpointCount(byte[] p, int e) {
        return p[e + 36] & 0xff;
    }

    public static int entryEndpoint(int e, int i) {
        return e + ENTRY_HEADER_LENGTH + WireEndpoint.LENGTH * i;
    }

    public static int nextEntry(byte[] p, int e) {
        return e + entryLength(entryEndpointCount(p, e));
    }

    /** @return the plaintext length, 7 */
    public static int writeAck(byte[] p, int off, int pushId) {
        Sealed.writeInnerHeader(p, off, V2Wire.KIND_PUSH_ACK, pushId, 0);
        return V2Wire.INNER_HEADER_LENGTH;
    }

    static V2Rejection checkAckBody(int len) {
        return Bodies.exactly(len, 0);
    }
}
