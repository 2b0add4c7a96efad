package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.Wire;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class V2MessagesTest {
    private static final Key A = V2Examples.PEER_A;
    private static final Key B = V2Examples.PEER_B;

    private static V2Rejection check(byte[] p, int len) {
        return (p[0] & 0x80) == 0 ? V2Messages.checkToServer(p, 0, len) : V2Messages.checkToClient(p, 0, len);
    }

    private static Key key(int i) {
        byte[] k = new byte[32];
        k[0] = (byte) i;
        k[31] = (byte) (i >> 8);
        return Key.fromBytes(k);
    }

    @Test
    void lookupRoundTripAtTheMaximum() {
        Key[] keys = new Key[40];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = key(i);
        }
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        int n = BatchLookup.writeRequest(p, 0, 77, V2Wire.WANT_ALL, keys, 3, 37);
        assertEquals(7 + 1 + 37 * 32, n);
        assertEquals(1221, n + V2Wire.SEALED_OVERHEAD, "37 keys fit a 1232-byte datagram");
        assertNull(V2Messages.checkToServer(p, 0, n));
        assertEquals(37, BatchLookup.keyCount(p, 0));
        assertEquals(V2Wire.WANT_ALL, BatchLookup.want(p, 0));
        assertEquals(77, Sealed.id(p, 0));
        for (int i = 0; i < 37; i++) {
            assertEquals(true, keys[3 + i].equalsBytes(p, BatchLookup.keyOffset(0, i)));
        }
        assertThrows(IllegalArgumentException.class, () -> BatchLookup.writeRequest(p, 0, 1, V2Wire.WANT_ALL, keys, 0, 38));
        assertThrows(IllegalArgumentException.class, () -> BatchLookup.writeRequest(p, 0, 1, V2Wire.WANT_ALL, keys, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> BatchLookup.writeRequest(p, 0, 1, 0x20 | 0x05, keys, 0, 1));
    }

    @Test
    void lookupResultIteration() {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        int pos = BatchLookup.beginResult(p, 0, 9);
        pos = BatchLookup.writeEntryHeader(p, pos, 1, -2, 1);
        pos = V2Examples.SRFLX_V6.write(p, pos);
        pos = BatchLookup.writeEntryHeader(p, pos, 4, 3, 3);
        pos = V2Examples.SRFLX_V4.write(p, pos);
        pos = V2Examples.LOCAL_V4.write(p, pos);
        pos = V2Examples.RELAY.write(p, pos);
        int n = BatchLookup.finishResult(p, 0, pos, 5);
        assertNull(V2Messages.checkToClient(p, 0, n));
        assertEquals(5, BatchLookup.answered(p, 0));
        List<String> seen = new ArrayList<>();
        for (int e = BatchLookup.firstEntry(0); e < BatchLookup.entriesEnd(p, 0); e = BatchLookup.nextEntry(p, e)) {
            StringBuilder s = new StringBuilder(BatchLookup.entryPosition(p, e) + "/" + BatchLookup.entryVersion(p, e));
            for (int i = 0; i < BatchLookup.entryEndpointCount(p, e); i++) {
                s.append(' ').append(WireEndpoint.read(p, BatchLookup.entryEndpoint(e, i)));
            }
            seen.add(s.toString());
        }
        assertEquals(List.of("1/-2 SERVER_REFLEXIVE [2001:db8:0:0:0:0:0:7]:51820",
                "4/3 SERVER_REFLEXIVE 198.18.0.7:51820 LOCAL 100.64.0.7:51820 RELAY 198.18.0.1:40000"), seen);
        assertThrows(IllegalArgumentException.class, () -> BatchLookup.writeEntryHeader(p, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> BatchLookup.writeEntryHeader(p, 0, 0, 0, 9));
    }

    @Test
    void lookupResultRules() {
        String mappedV4 = "1400000000000000000000ffffc6120007ca6c";
        assertEquals(V2Rejection.ORDER, body("81", "02" + "01" + "00000000" + "01" + mappedV4
                + "01" + "00000000" + "01" + mappedV4), "repeated position");
        assertEquals(V2Rejection.ORDER, body("81", "02" + "01" + "00000000" + "01" + mappedV4
                + "00" + "00000000" + "01" + mappedV4), "decreasing position");
        assertEquals(V2Rejection.ORDER, body("81", "02" + "02" + "00000000" + "01" + mappedV4), "position not answered");
        assertEquals(V2Rejection.COUNT, body("81", "02" + "00" + "00000000" + "00"), "found without endpoints");
        assertEquals(V2Rejection.COUNT, body("81", "26"), "answered above 37");
        assertNull(body("81", "25"), "37 answered, all not found");
        assertEquals(V2Rejection.ENDPOINT_KIND, body("81", "01" + "00" + "00000000" + "01"
                + "84" + mappedV4.substring(2)), "server kind in a lookup result");
    }

    @Test
    void wantRules() {
        String k = "00".repeat(32);
        assertNull(body("01", "05" + k));
        assertEquals(V2Rejection.RESERVED_BITS, body("01", "25" + k), "bit 5");
        assertEquals(V2Rejection.RESERVED_BITS, body("01", "1c" + k), "no family");
        assertEquals(V2Rejection.RESERVED_BITS, body("01", "03" + k), "no kind");
        assertEquals(V2Rejection.RESERVED_BITS, body("02", "01" + "83" + k));
    }

    @Test
    void subscriptionRoundTripAndRules() {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Subscription.writeRequest(p, 0, 5, Subscription.OP_REMOVE, V2Wire.WANT_IPV6 | V2Wire.WANT_RELAY,
                new Key[] {A, B}, 1, 1);
        assertNull(V2Messages.checkToServer(p, 0, n));
        assertEquals(Subscription.OP_REMOVE, Subscription.operation(p, 0));
        assertEquals(V2Wire.WANT_IPV6 | V2Wire.WANT_RELAY, Subscription.want(p, 0));
        assertEquals(1, Subscription.keyCount(p, 0));
        assertEquals(true, B.equalsBytes(p, Subscription.keyOffset(0, 0)));
        n = Subscription.writeRequest(p, 0, 5, Subscription.OP_REPLACE, V2Wire.WANT_ALL, new Key[0], 0, 0);
        assertNull(V2Messages.checkToServer(p, 0, n), "REPLACE with nothing clears the set");
        assertThrows(IllegalArgumentException.class,
                () -> Subscription.writeRequest(p, 0, 5, Subscription.OP_ADD, V2Wire.WANT_ALL, new Key[0], 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> Subscription.writeRequest(p, 0, 5, 4, V2Wire.WANT_ALL, new Key[] {A}, 0, 1));
        assertEquals(V2Rejection.COUNT, body("02", "02" + "1f"), "ADD without keys");
        assertEquals(V2Rejection.COUNT, body("02", "03" + "1f"), "REMOVE without keys");
        assertEquals(V2Rejection.OPERATION, body("02", "00" + "1f"));
        assertEquals(V2Rejection.OPERATION, body("02", "04" + "1f"));

        n = Subscription.writeResult(p, 0, 5, Subscription.STATUS_LIMIT, 65535, 4096);
        assertNull(V2Messages.checkToClient(p, 0, n));
        assertEquals(Subscription.STATUS_LIMIT, Subscription.status(p, 0));
        assertEquals(65535, Subscription.setSize(p, 0));
        assertEquals(4096, Subscription.cap(p, 0));
        assertEquals(V2Rejection.STATUS, body("82", "02" + "0000" + "0000"));
    }

    @Test
    void pushRoundTripAndRules() {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        int pos = Push.beginUpdate(p, 0, -1);
        pos = Push.writeEntryHeader(p, pos, B.toBytes(), 0, 12, 2);
        pos = V2Examples.SRFLX_V4.write(p, pos);
        pos = V2Examples.SRFLX_V6.write(p, pos);
        pos = Push.writeEntryHeader(p, pos, A.toBytes(), 0, 13, 0);
        int n = Push.finishUpdate(p, 0, pos);
        assertNull(V2Messages.checkToClient(p, 0, n));
        assertEquals(-1, Sealed.id(p, 0));
        int e = Push.firstEntry(0);
        assertEquals(true, B.equalsBytes(p, Push.entryKeyOffset(e)));
        assertEquals(12, Push.entryVersion(p, e));
        assertEquals(2, Push.entryEndpointCount(p, e));
        assertEquals(V2Examples.SRFLX_V6, WireEndpoint.read(p, Push.entryEndpoint(e, 1)));
        e = Push.nextEntry(p, e);
        assertEquals(true, A.equalsBytes(p, Push.entryKeyOffset(e)));
        assertEquals(0, Push.entryEndpointCount(p, e));
        assertEquals(Push.entriesEnd(p, 0), Push.nextEntry(p, e));
        assertEquals(V2Rejection.COUNT, body("83", ""), "an update with no entry");
        assertEquals(V2Rejection.COUNT, body("83", "00".repeat(32) + "00000000" + "09"));
        assertThrows(IllegalArgumentException.class, () -> Push.writeEntryHeader(p, 0, B.toBytes(), 0, 1, 9));

        n = Push.writeAck(p, 0, 0x12345678);
        assertNull(V2Messages.checkToServer(p, 0, n));
        assertEquals(0x12345678, Sealed.id(p, 0));
    }

    @Test
    void registrationRoundTripAndRules() {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        List<WireEndpoint> eight = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            eight.add(V2Examples.endpoint(WireEndpoint.Kind.LOCAL, "100.64.0." + (i + 1), 51820 + i));
        }
        int n = Registration.writeRequest(p, 0, 3, true, eight);
        assertNull(V2Messages.checkToServer(p, 0, n));
        assertEquals(true, Registration.replacesCandidates(p, 0));
        assertEquals(8, Registration.candidateCount(p, 0));
        assertEquals(eight.get(7), WireEndpoint.read(p, Registration.candidateOffset(0, 7)));
        n = Registration.writeRequest(p, 0, 3, false, List.of());
        assertNull(V2Messages.checkToServer(p, 0, n));
        assertEquals(false, Registration.replacesCandidates(p, 0));
        List<WireEndpoint> nine = new ArrayList<>(eight);
        nine.add(V2Examples.LOCAL_V4);
        assertThrows(IllegalArgumentException.class, () -> Registration.writeRequest(p, 0, 3, true, nine));
        assertThrows(IllegalArgumentException.class, () -> Registration.writeRequest(p, 0, 3, false, eight));
        assertThrows(IllegalArgumentException.class,
                () -> Registration.writeRequest(p, 0, 3, true, List.of(V2Examples.SRFLX_V4)));
        String local = "2400000000000000000000ffff64400007ca6c";
        assertEquals(V2Rejection.COUNT, body("04", "00" + local), "candidates without the flag");
        assertEquals(V2Rejection.RESERVED_BITS, body("04", "02"));
        assertEquals(V2Rejection.ENDPOINT_KIND, body("04", "01" + "14" + local.substring(2)));
        assertEquals(V2Rejection.COUNT, body("04", "01" + local.repeat(9)));

        n = Registration.writeResult(p, 0, 3, 8);
        WireEndpoint.writeIpv4(p, Registration.observedOffset(0), 1, 0xc6120007, 51820);
        assertNull(V2Messages.checkToClient(p, 0, n));
        assertEquals(8, Registration.accepted(p, 0));
        assertEquals(V2Examples.SRFLX_V4, WireEndpoint.read(p, Registration.observedOffset(0)));
        assertEquals(V2Rejection.COUNT, body("84", "1400000000000000000000ffffc6120007ca6c" + "09"));
    }

    @Test
    void probeInfoRelayErrorRules() {
        assertEquals(V2Rejection.RESERVED_BITS, body("05", "04"));
        assertNull(body("05", "03"));
        assertThrows(IllegalArgumentException.class, () -> Probe.writeRequest(new byte[20], 0, 1, 4));
        assertEquals(V2Rejection.ENDPOINT_KIND, body("85", "1400000000000000000000ffffc6120007ca6c"
                + "1400000000000000000000ffffc6120001ca6c"), "origin must be a server endpoint");
        assertEquals(V2Rejection.COUNT, body("86", ""));
        assertEquals(V2Rejection.ENDPOINT_KIND, body("86", "1400000000000000000000ffffc6120001ca6c"));
        assertThrows(IllegalArgumentException.class, () -> ServerInfo.writeResult(new byte[200], 0, 1, List.of()));
        assertThrows(IllegalArgumentException.class,
                () -> ServerInfo.writeResult(new byte[200], 0, 1, List.of(V2Examples.SRFLX_V4)));
        assertEquals(V2Rejection.OPERATION, body("07", "03" + "00".repeat(32)));
        assertEquals(V2Rejection.OPERATION, body("07", "00" + "00".repeat(32)));
        assertEquals(V2Rejection.STATUS, body("87", "04" + "0000"));
        assertEquals(V2Rejection.WRONG_LENGTH, body("87", "01" + "0000" + "00".repeat(35)), "PENDING with an endpoint");
        assertEquals(V2Rejection.WRONG_LENGTH, body("87", "00" + "0078"), "READY without an endpoint");
        assertNull(body("87", "03" + "0000"));
        assertEquals(V2Rejection.STATUS, body("ff", "00"));
        assertEquals(V2Rejection.STATUS, body("ff", "05"));
        assertThrows(IllegalArgumentException.class, () -> ErrorMessage.write(new byte[20], 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> RelayControl.writeRequest(new byte[50], 0, 1, 3, A));
        assertThrows(IllegalArgumentException.class,
                () -> RelayControl.writeResult(new byte[50], 0, 1, RelayControl.STATUS_READY, 10));
        assertThrows(IllegalArgumentException.class,
                () -> RelayControl.writeReady(new byte[50], 0, 1, 10, V2Examples.SRFLX_V4, V2Examples.TOKEN, 0));

        byte[] p = new byte[60];
        int n = RelayControl.writeResult(p, 0, 6, RelayControl.STATUS_PENDING, 30);
        assertNull(V2Messages.checkToClient(p, 0, n));
        assertEquals(RelayControl.STATUS_PENDING, RelayControl.status(p, 0));
        assertEquals(30, RelayControl.lifetimeSeconds(p, 0));
        n = RelayControl.writeReady(p, 0, 6, 120, V2Examples.RELAY, V2Examples.TOKEN, 0);
        assertNull(V2Messages.checkToClient(p, 0, n));
        assertEquals(V2Examples.RELAY, WireEndpoint.read(p, RelayControl.relayEndpointOffset(0)));
        assertEquals("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                V2Examples.HEX.formatHex(p, RelayControl.tokenOffset(0), RelayControl.tokenOffset(0) + 16));
        n = RelayControl.writeRequest(p, 0, 6, RelayControl.OP_RELEASE, A);
        assertNull(V2Messages.checkToServer(p, 0, n));
        assertEquals(RelayControl.OP_RELEASE, RelayControl.operation(p, 0));
        assertEquals(true, A.equalsBytes(p, RelayControl.peerKeyOffset(0)));
    }

    @Test
    void relayBindChecks() {
        for (int len = 0; len < 40; len++) {
            byte[] d = new byte[Math.max(len, 1)];
            d[0] = V2Wire.TYPE_RELAY_BIND;
            V2Rejection want = len == 0 ? V2Rejection.UNKNOWN_TYPE : len < 20 ? V2Rejection.TOO_SHORT
                    : len > 20 ? V2Rejection.TOO_LONG : null;
            assertEquals(want, RelayControl.checkBind(d, 0, len), "length " + len);
        }
        byte[] d = new byte[20];
        RelayControl.writeBind(d, 0, V2Examples.TOKEN, 0);
        d[2] = 1;
        assertEquals(V2Rejection.RESERVED_BITS, RelayControl.checkBind(d, 0, 20));
        d[0] = 4;
        assertEquals(V2Rejection.UNKNOWN_TYPE, RelayControl.checkBind(d, 0, 20), "a WireGuard data message");
        assertEquals(4, RelayControl.bindTokenOffset(0));
    }

    @Test
    void frameRules() {
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT + 1];
        for (int len = 0; len < 7; len++) {
            assertEquals(V2Rejection.TOO_SHORT, V2Messages.checkToServer(p, 0, len));
            assertEquals(V2Rejection.TOO_SHORT, V2Messages.checkToClient(p, 0, len));
        }
        assertEquals(V2Rejection.TOO_LONG, V2Messages.checkToServer(p, 0, V2Wire.MAX_PLAINTEXT + 1));
        int n = ServerInfo.writeRequest(p, 0, 1);
        assertNull(V2Messages.checkToServer(p, 0, n + 100), "zero padding");
        p[n + 99] = 1;
        assertEquals(V2Rejection.NONZERO_PADDING, V2Messages.checkToServer(p, 0, n + 100));
        p[n + 99] = 0;
        Wire.writeShort(p, 5, 101);
        assertEquals(V2Rejection.BODY_LENGTH, V2Messages.checkToServer(p, 0, n + 100));
        Wire.writeShort(p, 5, 0xffff);
        assertEquals(V2Rejection.BODY_LENGTH, V2Messages.checkToServer(p, 0, n + 100));
    }

    @Test
    void kindsAndDirections() {
        byte[] p = new byte[7];
        for (int kind = 0; kind < 256; kind++) {
            p[0] = (byte) kind;
            boolean up = kind >= 1 && kind <= 7;
            boolean down = kind >= 0x81 && kind <= 0x87 || kind == 0xff;
            V2Rejection s = V2Messages.checkToServer(p, 0, 7);
            V2Rejection c = V2Messages.checkToClient(p, 0, 7);
            if (up) {
                assertEquals(V2Rejection.WRONG_DIRECTION, c, "kind " + kind);
            } else if (down) {
                assertEquals(V2Rejection.WRONG_DIRECTION, s, "kind " + kind);
            } else {
                assertEquals(V2Rejection.UNKNOWN_KIND, s, "kind " + kind);
                assertEquals(V2Rejection.UNKNOWN_KIND, c, "kind " + kind);
            }
        }
        assertEquals(V2Wire.FEATURE_BATCH_LOOKUP, V2Messages.featureOf(V2Wire.KIND_LOOKUP));
        assertEquals(V2Wire.FEATURE_PUSH, V2Messages.featureOf(V2Wire.KIND_SUBSCRIBE));
        assertEquals(V2Wire.FEATURE_PUSH, V2Messages.featureOf(V2Wire.KIND_PUSH_ACK));
        assertEquals(0, V2Messages.featureOf(V2Wire.KIND_REGISTER));
        assertEquals(V2Wire.FEATURE_NAT_PROBE, V2Messages.featureOf(V2Wire.KIND_PROBE));
        assertEquals(0, V2Messages.featureOf(V2Wire.KIND_INFO));
        assertEquals(V2Wire.FEATURE_RELAY, V2Messages.featureOf(V2Wire.KIND_RELAY));
    }

    /**
     * For every example, the body is cut or extended with zeros to every length from 0 to 64 past
     * its own (with the inner header's length field to match); exactly the lengths listed here
     * are well formed. Everything else is a malformed length and must be rejected.
     */
    @Test
    void everyBodyLength() {
        Map<String, Set<Integer>> valid = Map.ofEntries(
                Map.entry("LOOKUP", Set.of(33, 65, 97, 129)),
                Map.entry("LOOKUP_RESULT", Set.of(1, 45)),
                Map.entry("SUBSCRIBE", Set.of(2, 34, 66, 98, 130)),
                Map.entry("SUBSCRIBE_RESULT", Set.of(5)),
                Map.entry("PUSH_UPDATE", Set.of(56, 93, 130)),
                Map.entry("PUSH_ACK", Set.of(0)),
                Map.entry("REGISTER", Set.of(1, 20)),
                Map.entry("REGISTER_RESULT", Set.of(20)),
                Map.entry("PROBE", Set.of(1)),
                Map.entry("PROBE_RESULT", Set.of(38)),
                Map.entry("INFO", Set.of(0)),
                Map.entry("INFO_RESULT", Set.of(19, 38, 57, 76)),
                Map.entry("RELAY", Set.of(33)),
                Map.entry("RELAY_RESULT", Set.of(38)),
                Map.entry("ERROR", Set.of(1)));
        for (V2Examples.Example e : V2Examples.sealed()) {
            if (e.plaintext().length == 0) {
                continue;
            }
            byte[] plain = e.plaintext();
            int own = Sealed.bodyLength(plain, 0);
            Set<Integer> ok = new TreeSet<>();
            for (int len = 0; len <= own + 64; len++) {
                byte[] p = new byte[7 + len];
                System.arraycopy(plain, 0, p, 0, 7 + Math.min(len, own));
                Wire.writeShort(p, 5, len);
                V2Rejection r = check(p, p.length);
                if (r == null) {
                    ok.add(len);
                }
            }
            assertEquals(new TreeSet<>(valid.get(e.name())), ok, e.name());
        }
    }

    private static V2Rejection body(String kindHex, String bodyHex) {
        byte[] b = V2Examples.HEX.parseHex(bodyHex);
        byte[] p = new byte[7 + b.length];
        p[0] = (byte) Integer.parseInt(kindHex, 16);
        Wire.writeShort(p, 5, b.length);
        System.arraycopy(b, 0, p, 7, b.length);
        return check(p, p.length);
    }
}
