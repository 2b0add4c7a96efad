package dev.natpunch.protocol.v2;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.Wire;

/**
 * SUBSCRIBE (kind 0x02) and SUBSCRIBE_RESULT (kind 0x82).
 *
 * <p>Request body: operation (1), want (1), then 0 to 37 keys (32 each); zero keys only with
 * {@link #OP_REPLACE} (which then clears the set). Result body: status (1), the size of the
 * session's subscription set after the operation (2), the server's cap on that size (2).
 */
public final class Subscription {
    /** The set becomes exactly these keys. */
    public static final int OP_REPLACE = 1;
    /** These keys join the set. */
    public static final int OP_ADD = 2;
    /** These keys leave the set. */
    public static final int OP_REMOVE = 3;

    /** The operation was applied. */
    public static final int STATUS_OK = 0;
    /** The set would have exceeded the cap; nothing changed. */
    public static final int STATUS_LIMIT = 1;

    /** Body length of a result. */
    public static final int RESULT_BODY_LENGTH = 5;

    private Subscription() {
    }

    /** @return the plaintext length, {@code 9 + 32 * count} */
    public static int writeRequest(byte[] p, int off, int id, int op, int want, Key[] keys, int from, int count) {
        Bodies.requireWant(want);
        if (op < OP_REPLACE || op > OP_REMOVE) {
            throw new IllegalArgumentException("unknown subscription operation " + op);
        }
        if (count < (op == OP_REPLACE ? 0 : 1) || count > V2Wire.MAX_SUBSCRIBE_KEYS) {
            throw new IllegalArgumentException("bad key count " + count + " for operation " + op);
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_SUBSCRIBE, id, 2 + Key.LENGTH * count);
        p[body] = (byte) op;
        p[body + 1] = (byte) want;
        for (int i = 0; i < count; i++) {
            keys[from + i].copyTo(p, body + 2 + Key.LENGTH * i);
        }
        return V2Wire.INNER_HEADER_LENGTH + 2 + Key.LENGTH * count;
    }

    static V2Rejection checkRequestBody(byte[] p, int body, int len) {
        if (len < 2 || (len - 2) % Key.LENGTH != 0) {
            return V2Rejection.WRONG_LENGTH;
        }
        int op = p[body] & 0xff;
        if (op < OP_REPLACE || op > OP_REMOVE) {
            return V2Rejection.OPERATION;
        }
        int keys = (len - 2) / Key.LENGTH;
        if (keys > V2Wire.MAX_SUBSCRIBE_KEYS || keys == 0 && op != OP_REPLACE) {
            return V2Rejection.COUNT;
        }
        return Bodies.checkWant(p[body + 1] & 0xff);
    }

    public static int operation(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    public static int want(byte[] p, int off) {
        return p[Sealed.bodyOffset(off) + 1] & 0xff;
    }

    public static int keyCount(byte[] p, int off) {
        return (Sealed.bodyLength(p, off) - 2) / Key.LENGTH;
    }

    public static int keyOffset(int off, int i) {
        return Sealed.bodyOffset(off) + 2 + Key.LENGTH * i;
    }

    /** @return the plaintext length, 12 */
    public static int writeResult(byte[] p, int off, int id, int status, int setSize, int cap) {
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_SUBSCRIBE_RESULT, id, RESULT_BODY_LENGTH);
        p[body] = (byte) status;
        Wire.writeShort(p, body + 1, setSize);
        Wire.writeShort(p, body + 3, cap);
        return V2Wire.INNER_HEADER_LENGTH + RESULT_BODY_LENGTH;
    }

    static V2Rejection checkResultBody(byte[] p, int body, int len) {
        if (len != RESULT_BODY_LENGTH) {
            return V2Rejection.WRONG_LENGTH;
        }
        int status = p[body] & 0xff;
        return status == STATUS_OK || status == STATUS_LIMIT ? null : V2Rejection.STATUS;
    }

    public static int status(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    public static int setSize(byte[] p, int off) {
        return Wire.readUnsignedShort(p, Sealed.bodyOffset(off) + 1);
    }

    public static int cap(byte[] p, int off) {
        return Wire.readUnsignedShort(p, Sealed.bodyOffset(off) + 3);
    }
}
