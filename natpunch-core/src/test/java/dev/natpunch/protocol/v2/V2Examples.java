package dev.natpunch.protocol.v2;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * One example of every version 2 message, built from fixed keys, ids and counters. The pinning
 * test checks their bytes; {@link #main} prints them as the "Examples" section of
 * {@code docs/protocol-v2.md}, so that the document and the code show the same bytes.
 */
final class V2Examples {
    static final HexFormat HEX = HexFormat.of();

    static final KeyPair CLIENT = pair("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf");
    static final KeyPair SERVER = pair("5051525354555657585960616263646566676869707172737475767778798081");
    static final KeyPair CLIENT_EPHEMERAL = pair("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    static final KeyPair SERVER_EPHEMERAL = pair("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
    static final int PROPOSAL = 0x01020304;
    static final int INDEX = 0x01020305;
    static final long TIMESTAMP = 1_764_028_800_123_456_789L;

    /** Session keys of the sealed examples: client to server 00..1f, server to client 20..3f. */
    static final byte[] KEY_CS = range(0x00);
    static final byte[] KEY_SC = range(0x20);
    static final Key PEER_A = Key.fromHex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    static final Key PEER_B = Key.fromHex("2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40");
    static final byte[] TOKEN = HEX.parseHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    static final int PUSH_ID = 0x9e3779b9;

    static final WireEndpoint SRFLX_V4 = endpoint(WireEndpoint.Kind.SERVER_REFLEXIVE, "198.18.0.7", 51820);
    static final WireEndpoint SRFLX_V6 = endpoint(WireEndpoint.Kind.SERVER_REFLEXIVE, "2001:db8::7", 51820);
    static final WireEndpoint LOCAL_V4 = endpoint(WireEndpoint.Kind.LOCAL, "100.64.0.7", 51820);
    static final WireEndpoint PUSHED_V4 = endpoint(WireEndpoint.Kind.SERVER_REFLEXIVE, "198.18.0.9", 51820);
    static final WireEndpoint PRIMARY = endpoint(WireEndpoint.Kind.SERVER_PRIMARY, "198.18.0.1", 3000);
    static final WireEndpoint ALT_PORT = endpoint(WireEndpoint.Kind.SERVER_ALT_PORT, "198.18.0.1", 3001);
    static final WireEndpoint ALT_ADDRESS = endpoint(WireEndpoint.Kind.SERVER_ALT_ADDRESS, "198.18.0.2", 3000);
    static final WireEndpoint ALT_BOTH = endpoint(WireEndpoint.Kind.SERVER_ALT_BOTH, "198.18.0.2", 3001);
    static final WireEndpoint RELAY = endpoint(WireEndpoint.Kind.RELAY, "198.18.0.1", 40000);

    /** A named example: the plaintext (inner header, body, padding) and the datagram. */
    record Example(String name, byte[] plaintext, byte[] datagram) {
    }

    private V2Examples() {
    }

    static KeyPair pair(String hex) {
        return KeyPair.fromPrivateKey(Key.fromHex(hex));
    }

    static byte[] range(int first) {
        byte[] b = new byte[32];
        for (int i = 0; i < 32; i++) {
            b[i] = (byte) (first + i);
        }
        return b;
    }

    static WireEndpoint endpoint(WireEndpoint.Kind kind, String literal, int port) {
        try {
            return new WireEndpoint(kind, InetAddress.getByName(literal), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    static Capabilities offer() {
        return Capabilities.offer(2, V2Wire.FEATURES_V2);
    }

    static Capabilities answer() {
        return Capabilities.answer(offer(), 2, V2Wire.FEATURES_V2, SRFLX_V4, 300);
    }

    /** Message 1 with the offer and message 2 with the answer, from the fixed handshake keys. */
    static List<Example> handshake() throws Exception {
        NoiseHandshake initiator = NoiseHandshake.initiator(CLIENT, SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE, CLIENT_EPHEMERAL);
        NoiseHandshake responder = NoiseHandshake.responder(SERVER, NoiseHandshake.NATPUNCH_PROLOGUE, SERVER_EPHEMERAL);
        byte[] scratch = new byte[8 + V2Wire.MAX_CAPABILITY_BLOCK];
        byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        int n1 = V2Handshake.encodeInitiation(initiator, PROPOSAL, TIMESTAMP, offer(), scratch, m1, 0);
        byte[] p1 = new byte[n1];
        int pl1 = V2Handshake.readInitiation(responder, m1, 0, n1, p1);
        byte[] m2 = new byte[V2Wire.MAX_RESPONSE_LENGTH];
        int n2 = V2Handshake.encodeResponse(responder, INDEX, answer(), n1, scratch, m2, 0);
        byte[] p2 = new byte[n2];
        int pl2 = V2Handshake.readResponse(initiator, m2, 0, n2, p2);
        return List.of(new Example("handshake initiation with offer", Arrays.copyOf(p1, pl1), Arrays.copyOf(m1, n1)),
                new Example("handshake response with answer", Arrays.copyOf(p2, pl2), Arrays.copyOf(m2, n2)));
    }

    /** One sealed example per kind, in the order of the specification. */
    static List<Example> sealed() {
        CipherState cs = CipherState.fromKey(KEY_CS);
        CipherState sc = CipherState.fromKey(KEY_SC);
        List<Example> out = new ArrayList<>();
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
        Key[] ab = {PEER_A, PEER_B};

        int n = BatchLookup.writeRequest(p, 0, 1, V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6
                | V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_LOCAL, ab, 0, 2);
        out.add(toServer("LOOKUP", cs, 0, p, n, 0));

        int pos = BatchLookup.beginResult(p, 0, 1);
        pos = BatchLookup.writeEntryHeader(p, pos, 0, 5, 2);
        pos = SRFLX_V4.write(p, pos);
        pos = SRFLX_V6.write(p, pos);
        n = BatchLookup.finishResult(p, 0, pos, 2);
        out.add(toClient("LOOKUP_RESULT", sc, 0, p, n));

        n = Subscription.writeRequest(p, 0, 2, Subscription.OP_REPLACE, V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6
                | V2Wire.WANT_SERVER_REFLEXIVE | V2Wire.WANT_LOCAL, ab, 0, 2);
        out.add(toServer("SUBSCRIBE", cs, 1, p, n, 0));

        n = Subscription.writeResult(p, 0, 2, Subscription.STATUS_OK, 2, 1024);
        out.add(toClient("SUBSCRIBE_RESULT", sc, 1, p, n));

        pos = Push.beginUpdate(p, 0, PUSH_ID);
        pos = Push.writeEntryHeader(p, pos, PEER_A.toBytes(), 0, 6, 1);
        pos = PUSHED_V4.write(p, pos);
        pos = Push.writeEntryHeader(p, pos, PEER_B.toBytes(), 0, 7, 0);
        n = Push.finishUpdate(p, 0, pos);
        out.add(toClient("PUSH_UPDATE", sc, 2, p, n));

        n = Push.writeAck(p, 0, PUSH_ID);
        out.add(toServer("PUSH_ACK", cs, 2, p, n, 0));

        n = Registration.writeRequest(p, 0, 3, true, List.of(LOCAL_V4));
        out.add(toServer("REGISTER", cs, 3, p, n, 0));

        n = Registration.writeResult(p, 0, 3, 1);
        SRFLX_V4.write(p, Registration.observedOffset(0));
        out.add(toClient("REGISTER_RESULT", sc, 3, p, n));

        n = Probe.writeRequest(p, 0, 4, Probe.FLAG_CHANGE_PORT);
        out.add(toServer("PROBE", cs, 4, p, n, V2Wire.SEALED_OVERHEAD + V2Wire.INNER_HEADER_LENGTH + Probe.RESULT_BODY_LENGTH));

        n = Probe.writeResult(p, 0, 4);
        SRFLX_V4.write(p, Probe.mappedOffset(0));
        ALT_PORT.write(p, Probe.originOffset(0));
        out.add(toClient("PROBE_RESULT", sc, 4, p, n));

        List<WireEndpoint> servers = List.of(PRIMARY, ALT_PORT, ALT_ADDRESS, ALT_BOTH);
        n = ServerInfo.writeRequest(p, 0, 5);
        out.add(toServer("INFO", cs, 5, p, n, V2Wire.SEALED_OVERHEAD + V2Wire.INNER_HEADER_LENGTH
                + WireEndpoint.LENGTH * V2Wire.MAX_SERVER_ENDPOINTS));

        n = ServerInfo.writeResult(p, 0, 5, servers);
        out.add(toClient("INFO_RESULT", sc, 5, p, n));

        n = RelayControl.writeRequest(p, 0, 6, RelayControl.OP_ALLOCATE, PEER_B);
        out.add(toServer("RELAY", cs, 6, p, n, V2Wire.SEALED_OVERHEAD + V2Wire.INNER_HEADER_LENGTH
                + RelayControl.READY_RESULT_BODY_LENGTH));

        n = RelayControl.writeReady(p, 0, 6, 120, RELAY, TOKEN, 0);
        out.add(toClient("RELAY_RESULT", sc, 6, p, n));

        n = ErrorMessage.write(p, 0, 7, ErrorMessage.UNSUPPORTED);
        out.add(toClient("ERROR", sc, 7, p, n));

        byte[] bind = new byte[V2Wire.RELAY_BIND_LENGTH];
        RelayControl.writeBind(bind, 0, TOKEN, 0);
        out.add(new Example("relay bind", new byte[0], bind));
        return out;
    }

    private static Example toServer(String name, CipherState cs, long counter, byte[] p, int n, int padTo) {
        byte[] d = new byte[V2Wire.MAX_DATAGRAM];
        int len = Sealed.seal(cs, V2Wire.TYPE_SEALED_TO_SERVER, INDEX, counter, p, 0, n, padTo, d, 0);
        return new Example(name, Arrays.copyOf(p, len - V2Wire.SEALED_OVERHEAD), Arrays.copyOf(d, len));
    }

    private static Example toClient(String name, CipherState sc, long counter, byte[] p, int n) {
        byte[] d = new byte[V2Wire.MAX_DATAGRAM];
        int len = Sealed.seal(sc, V2Wire.TYPE_SEALED_TO_CLIENT, INDEX, counter, p, 0, n, 0, d, 0);
        return new Example(name, Arrays.copyOf(p, len - V2Wire.SEALED_OVERHEAD), Arrays.copyOf(d, len));
    }

    /** Prints the examples as Markdown for {@code docs/protocol-v2.md}. */
    public static void main(String[] args) throws Exception {
        List<Example> all = new ArrayList<>(handshake());
        all.addAll(sealed());
        for (Example e : all) {
            System.out.println("#### " + e.name() + " (" + e.datagram().length + " bytes)");
            System.out.println();
            if (e.plaintext().length > 0) {
                System.out.println("Plaintext (" + e.plaintext().length + " bytes):");
                System.out.println();
                System.out.println("```");
                wrap(HEX.formatHex(e.plaintext()));
                System.out.println("```");
                System.out.println();
                System.out.println("Datagram:");
                System.out.println();
            }
            System.out.println("```");
            wrap(HEX.formatHex(e.datagram()));
            System.out.println("```");
            System.out.println();
        }
    }

    private static void wrap(String hex) {
        for (int i = 0; i < hex.length(); i += 64) {
            System.out.println(hex.substring(i, Math.min(hex.length(), i + 64)));
        }
    }
}
