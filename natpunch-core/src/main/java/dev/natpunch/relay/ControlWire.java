package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * The relay control channel between rendezvous servers and a relay on another host
 * ({@code docs/protocol-v2.md} 6.9): the layouts of its sealed plaintexts (inner header, then
 * body, no padding). Requests go from the server (type 4), answers and notices from the relay
 * (type 5). Every kind is meaningful only under {@link #PROLOGUE}; the same numbers mean other
 * things to rendezvous clients, which can never open these datagrams.
 */
final class ControlWire {
    /** The Noise prologue of the channel: a handshake of another protocol never completes here. */
    static final byte[] PROLOGUE = "natpunch relay control 1".getBytes(StandardCharsets.US_ASCII);

    static final byte ALLOCATE = 0x01;
    static final byte RELEASE = 0x02;
    static final byte PING = 0x03;
    static final byte RESULT = (byte) 0x81;
    static final byte RELEASED = (byte) 0x82;
    static final byte PONG = (byte) 0x83;
    static final byte ENDED = (byte) 0x84;

    static final int PAIR_LENGTH = 2 * Key.LENGTH;
    static final int ALLOCATE_LENGTH = PAIR_LENGTH + 1;
    static final int SHORT_RESULT_LENGTH = PAIR_LENGTH + 3;
    static final int READY_RESULT_LENGTH = SHORT_RESULT_LENGTH + WireEndpoint.LENGTH + AllocationResult.TOKEN_LENGTH;
    /** The longest plaintext of the channel (a READY result). */
    static final int MAX_PLAINTEXT = V2Wire.INNER_HEADER_LENGTH + READY_RESULT_LENGTH;

    private static final int BODY = V2Wire.INNER_HEADER_LENGTH;

    private ControlWire() {
    }

    /** The body length {@code kind} must have, -1 for a kind that is not of this direction. */
    private static int bodyLength(byte kind, boolean toRelay, int status) {
        if (toRelay) {
            switch (kind) {
                case ALLOCATE: return ALLOCATE_LENGTH;
                case RELEASE: return PAIR_LENGTH;
                case PING: return 0;
                default: return -1;
            }
        }
        switch (kind) {
            case RESULT: return status == RelayControl.STATUS_READY ? READY_RESULT_LENGTH : SHORT_RESULT_LENGTH;
            case RELEASED:
            case ENDED: return PAIR_LENGTH;
            case PONG: return 0;
            default: return -1;
        }
    }

    /**
     * Whether the opened plaintext {@code p[0..len)} is a well-formed message for the relay
     * ({@code toRelay}) or for a server: a known kind of that direction, the exact body length,
     * no trailing bytes, and for a result a known status, a lifetime and a relay endpoint.
     */
    static boolean check(byte[] p, int len, boolean toRelay) {
        if (len < BODY) {
            return false;
        }
        byte kind = Sealed.kind(p, 0);
        int n = Sealed.bodyLength(p, 0);
        int status = kind == RESULT && len > BODY + PAIR_LENGTH ? p[BODY + PAIR_LENGTH] & 0xff : -1;
        int expected = bodyLength(kind, toRelay, status);
        if (expected < 0 || n != expected || len != BODY + n) {
            return false;
        }
        if (kind == ALLOCATE) {
            int family = p[BODY + PAIR_LENGTH];
            return family == WireEndpoint.FAMILY_IPV4 || family == WireEndpoint.FAMILY_IPV6;
        }
        if (kind == RESULT) {
            if (status == RelayControl.STATUS_READY) {
                return WireEndpoint.check(p, BODY + SHORT_RESULT_LENGTH, WireEndpoint.Kind.RELAY.bit()) == null;
            }
            return status == RelayControl.STATUS_PENDING || status == RelayControl.STATUS_UNAVAILABLE;
        }
        return true;
    }

    static int writeAllocate(byte[] p, int id, Key requester, Key peer, StandardProtocolFamily family) {
        int at = writePair(p, ALLOCATE, id, ALLOCATE_LENGTH, requester, peer);
        p[at] = (byte) (family == StandardProtocolFamily.INET ? WireEndpoint.FAMILY_IPV4 : WireEndpoint.FAMILY_IPV6);
        return at + 1;
    }

    /** RELEASE, RELEASED or ENDED: the two keys. */
    static int writePair(byte[] p, byte kind, int id, Key first, Key second) {
        return writePair(p, kind, id, PAIR_LENGTH, first, second);
    }

    private static int writePair(byte[] p, byte kind, int id, int bodyLength, Key first, Key second) {
        int at = Sealed.writeInnerHeader(p, 0, kind, id, bodyLength);
        first.copyTo(p, at);
        second.copyTo(p, at + Key.LENGTH);
        return at + PAIR_LENGTH;
    }

    /** PING or PONG. */
    static int writeEmpty(byte[] p, byte kind, int id) {
        return Sealed.writeInnerHeader(p, 0, kind, id, 0);
    }

    static int writeResult(byte[] p, int id, Key requester, Key peer, AllocationResult r) {
        boolean ready = r.status() == AllocationResult.Status.READY;
        int at = writePair(p, RESULT, id, ready ? READY_RESULT_LENGTH : SHORT_RESULT_LENGTH, requester, peer);
        p[at] = (byte) (ready ? RelayControl.STATUS_READY
                : r.status() == AllocationResult.Status.PENDING ? RelayControl.STATUS_PENDING
                : RelayControl.STATUS_UNAVAILABLE);
        Wire.writeShort(p, at + 1, (int) Math.min(65_535, r.lifetime().toSeconds()));
        at += 3;
        if (!ready) {
            return at;
        }
        InetSocketAddress e = r.endpoint().orElseThrow();
        at = new WireEndpoint(WireEndpoint.Kind.RELAY, e.getAddress(), e.getPort()).write(p, at);
        byte[] token = r.token();
        System.arraycopy(token, 0, p, at, token.length);
        Arrays.fill(token, (byte) 0);
        return at + token.length;
    }

    /** The first key of a checked message's body (requester, or one of an ended pair). */
    static Key firstKey(byte[] p) {
        return Key.fromBytes(Arrays.copyOfRange(p, BODY, BODY + Key.LENGTH));
    }

    static Key secondKey(byte[] p) {
        return Key.fromBytes(Arrays.copyOfRange(p, BODY + Key.LENGTH, BODY + PAIR_LENGTH));
    }

    static StandardProtocolFamily family(byte[] p) {
        return p[BODY + PAIR_LENGTH] == WireEndpoint.FAMILY_IPV4 ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
    }

    /** The allocation result a checked RESULT carries. */
    static AllocationResult result(byte[] p) {
        int at = BODY + PAIR_LENGTH;
        int status = p[at] & 0xff;
        Duration lifetime = Duration.ofSeconds(Wire.readUnsignedShort(p, at + 1));
        if (status == RelayControl.STATUS_PENDING) {
            return AllocationResult.pending(lifetime);
        }
        if (status != RelayControl.STATUS_READY) {
            return AllocationResult.unavailable();
        }
        WireEndpoint e = WireEndpoint.read(p, at + 3);
        int tokenAt = at + 3 + WireEndpoint.LENGTH;
        byte[] token = Arrays.copyOfRange(p, tokenAt, tokenAt + AllocationResult.TOKEN_LENGTH);
        try {
            return AllocationResult.ready(lifetime, new InetSocketAddress(e.address(), e.port()), token);
        } finally {
            Arrays.fill(token, (byte) 0);
        }
    }
}
