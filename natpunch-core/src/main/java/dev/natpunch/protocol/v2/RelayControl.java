package dev.natpunch.protocol.v2;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.Wire;

/**
 * Relay control: RELAY (kind 0x07), RELAY_RESULT (kind 0x87), and the relay bind datagram
 * (type 6) a client sends to its relay port.
 *
 * <p>Request body: operation (1), the peer's key (32). Result body: status (1), lifetime in
 * seconds (2), and for {@link #STATUS_READY} also the relay endpoint facing this client (19, kind
 * relay) and the bind token (16). Bind datagram: type 6, three zero bytes, token (16).
 */
public final class RelayControl {
    /** Ask for (or refresh) the relay allocation of the pair (this client, the peer). */
    public static final int OP_ALLOCATE = 1;
    /** Give up this client's side of the pair's allocation. */
    public static final int OP_RELEASE = 2;

    /** Both sides asked: the allocation exists. */
    public static final int STATUS_READY = 0;
    /** This side's request is recorded (also when the peer is unknown or not allowed). */
    public static final int STATUS_PENDING = 1;
    /** The release was applied (also when there was nothing to release). */
    public static final int STATUS_RELEASED = 2;
    /** No relay for this client: relaying is off, or this client's own quota is used up. */
    public static final int STATUS_UNAVAILABLE = 3;

    public static final int REQUEST_BODY_LENGTH = 1 + Key.LENGTH;
    public static final int SHORT_RESULT_BODY_LENGTH = 3;
    public static final int READY_RESULT_BODY_LENGTH = 3 + WireEndpoint.LENGTH + V2Wire.RELAY_TOKEN_LENGTH;

    private RelayControl() {
    }

    /** @return the plaintext length, 40 */
    public static int writeRequest(byte[] p, int off, int id, int op, Key peer) {
        if (op != OP_ALLOCATE && op != OP_RELEASE) {
            throw new IllegalArgumentException("unknown relay operation " + op);
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_RELAY, id, REQUEST_BODY_LENGTH);
        p[body] = (byte) op;
        peer.copyTo(p, body + 1);
        return V2Wire.INNER_HEADER_LENGTH + REQUEST_BODY_LENGTH;
    }

    static V2Rejection checkRequestBody(byte[] p, int body, int len) {
        if (len != REQUEST_BODY_LENGTH) {
            return V2Rejection.WRONG_LENGTH;
        }
        int op = p[body] & 0xff;
        return op == OP_ALLOCATE || op == OP_RELEASE ? null : V2Rejection.OPERATION;
    }

    public static int operation(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    public static int peerKeyOffset(int off) {
        return Sealed.bodyOffset(off) + 1;
    }

    /**
     * Writes a PENDING, RELEASED or UNAVAILABLE result.
     *
     * @return the plaintext length, 10
     */
    public static int writeResult(byte[] p, int off, int id, int status, int lifetimeSeconds) {
        if (status != STATUS_PENDING && status != STATUS_RELEASED && status != STATUS_UNAVAILABLE) {
            throw new IllegalArgumentException("status " + status + " has no endpoint; use writeReady for READY");
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_RELAY_RESULT, id, SHORT_RESULT_BODY_LENGTH);
        p[body] = (byte) status;
        Wire.writeShort(p, body + 1, lifetimeSeconds);
        return V2Wire.INNER_HEADER_LENGTH + SHORT_RESULT_BODY_LENGTH;
    }

    /** @return the plaintext length, 45 */
    public static int writeReady(byte[] p, int off, int id, int lifetimeSeconds, WireEndpoint relay,
                                 byte[] token, int tokenOff) {
        if (relay.kind() != WireEndpoint.Kind.RELAY) {
            throw new IllegalArgumentException("the relay endpoint has kind RELAY, not " + relay.kind());
        }
        int body = Sealed.writeInnerHeader(p, off, V2Wire.KIND_RELAY_RESULT, id, READY_RESULT_BODY_LENGTH);
        p[body] = STATUS_READY;
        Wire.writeShort(p, body + 1, lifetimeSeconds);
        relay.write(p, body + 3);
        System.arraycopy(token, tokenOff, p, body + 3 + WireEndpoint.LENGTH, V2Wire.RELAY_TOKEN_LENGTH);
        return V2Wire.INNER_HEADER_LENGTH + READY_RESULT_BODY_LENGTH;
    }

    static V2Rejection checkResultBody(byte[] p, int body, int len) {
        if (len < 1) {
            return V2Rejection.WRONG_LENGTH;
        }
        int status = p[body] & 0xff;
        if (status > STATUS_UNAVAILABLE) {
            return V2Rejection.STATUS;
        }
        if (status == STATUS_READY) {
            V2Rejection r = Bodies.exactly(len, READY_RESULT_BODY_LENGTH);
            return r != null ? r : WireEndpoint.check(p, body + 3, WireEndpoint.Kind.RELAY.bit());
        }
        return Bodies.exactly(len, SHORT_RESULT_BODY_LENGTH);
    }

    public static int status(byte[] p, int off) {
        return p[Sealed.bodyOffset(off)] & 0xff;
    }

    public static int lifetimeSeconds(byte[] p, int off) {
        return Wire.readUnsignedShort(p, Sealed.bodyOffset(off) + 1);
    }

    /** Where the relay endpoint of a READY result starts. */
    public static int relayEndpointOffset(int off) {
        return Sealed.bodyOffset(off) + 3;
    }

    /** Where the bind token of a READY result starts. */
    public static int tokenOffset(int off) {
        return Sealed.bodyOffset(off) + 3 + WireEndpoint.LENGTH;
    }

    /** Writes the 20-byte bind datagram. */
    public static int writeBind(byte[] out, int off, byte[] token, int tokenOff) {
        out[off] = V2Wire.TYPE_RELAY_BIND;
        out[off + 1] = 0;
        out[off + 2] = 0;
        out[off + 3] = 0;
        System.arraycopy(token, tokenOff, out, off + 4, V2Wire.RELAY_TOKEN_LENGTH);
        return V2Wire.RELAY_BIND_LENGTH;
    }

    /** Checks a datagram that reached a relay port and is not a WireGuard message. */
    public static V2Rejection checkBind(byte[] d, int off, int len) {
        if (len <= 0 || d[off] != V2Wire.TYPE_RELAY_BIND) {
            return V2Rejection.UNKNOWN_TYPE;
        }
        if (len != V2Wire.RELAY_BIND_LENGTH) {
            return len < V2Wire.RELAY_BIND_LENGTH ? V2Rejection.TOO_SHORT : V2Rejection.TOO_LONG;
        }
        return (d[off + 1] | d[off + 2] | d[off + 3]) != 0 ? V2Rejection.RESERVED_BITS : null;
    }

    public static int bindTokenOffset(int off) {
        return off + 4;
    }
}
