package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.Wire;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated input never makes a check throw, and whatever a check accepts can be read
 * with every accessor of its kind without an exception. Seeds are fixed, so a failure repeats.
 */
class V2FuzzTest {
    private static final byte[] KINDS = {1, 2, 3, 4, 5, 6, 7, (byte) 0x81, (byte) 0x82, (byte) 0x83, (byte) 0x84,
        (byte) 0x85, (byte) 0x86, (byte) 0x87, (byte) 0xff, 0, 8, (byte) 0x80, (byte) 0x88};

    @Test
    void randomPlaintexts() {
        SplittableRandom rnd = new SplittableRandom(20261125);
        byte[] p = new byte[V2Wire.MAX_PLAINTEXT + 8];
        int accepted = 0;
        for (int round = 0; round < 200_000; round++) {
            int len = rnd.nextInt(8) == 0 ? rnd.nextInt(p.length - 4) : 7 + rnd.nextInt(200);
            int off = rnd.nextInt(4);
            for (int i = 0; i < len; i++) {
                // Mostly small values, so that counts, flags and kinds are often plausible.
                p[off + i] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(256) : rnd.nextInt(3));
            }
            if (len >= 7) {
                p[off] = KINDS[rnd.nextInt(KINDS.length)];
                if (rnd.nextBoolean()) {
                    Wire.writeShort(p, off + 5, len - 7 - (rnd.nextInt(4) == 0 ? rnd.nextInt(len - 6) : 0));
                }
            }
            accepted += exercise(p, off, len);
        }
        assertTrue(accepted > 0, "the generator should produce some well-formed plaintexts");
    }

    @Test
    void mutatedExamples() {
        SplittableRandom rnd = new SplittableRandom(42);
        List<V2Examples.Example> examples = new ArrayList<>(V2Examples.sealed());
        examples.removeIf(e -> e.plaintext().length == 0);
        for (int round = 0; round < 200_000; round++) {
            byte[] base = examples.get(rnd.nextInt(examples.size())).plaintext();
            int len = base.length + (rnd.nextInt(4) == 0 ? rnd.nextInt(-base.length, 40) : 0);
            byte[] p = new byte[Math.max(len, 0) + 1];
            System.arraycopy(base, 0, p, 0, Math.min(base.length, Math.max(len, 0)));
            int flips = 1 + rnd.nextInt(3);
            for (int i = 0; i < flips && len > 0; i++) {
                p[rnd.nextInt(len)] ^= (byte) (1 << rnd.nextInt(8));
            }
            exercise(p, 0, Math.max(len, 0));
        }
    }

    @Test
    void randomCapabilityBlocks() {
        SplittableRandom rnd = new SplittableRandom(7);
        byte[] b = new byte[400];
        for (int round = 0; round < 200_000; round++) {
            int len = rnd.nextInt(300);
            for (int i = 0; i < len; i++) {
                b[i] = (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt(256) : rnd.nextInt(5));
            }
            if (len > 2 && rnd.nextBoolean()) {
                b[0] = 1;
                b[1] = 1;
                b[2] = (byte) (2 + rnd.nextInt(3));
            }
            for (boolean fromServer : new boolean[] {false, true}) {
                if (Capabilities.check(b, 0, len, fromServer) == null) {
                    Capabilities c = Capabilities.read(b, 0, len, fromServer);
                    byte[] again = new byte[V2Wire.MAX_CAPABILITY_BLOCK];
                    int n = c.encode(again, 0);
                    if (Capabilities.check(again, 0, n, fromServer) != null
                            || !Capabilities.read(again, 0, n, fromServer).equals(c)) {
                        fail("re-encoding changed " + c);
                    }
                }
            }
        }
    }

    @Test
    void randomDatagrams() throws Exception {
        SplittableRandom rnd = new SplittableRandom(99);
        CipherState cs = CipherState.fromKey(V2Examples.KEY_CS);
        byte[] d = new byte[1400];
        byte[] plain = new byte[1400];
        NoiseHandshake server = NoiseHandshake.responder(V2Examples.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
        NoiseHandshake client = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        client.writeMessage(new byte[8], 0, 8, m1, 5);
        for (int round = 0; round < 20_000; round++) {
            int len = rnd.nextInt(d.length);
            for (int i = 0; i < len; i++) {
                d[i] = (byte) rnd.nextInt(256);
            }
            if (len > 0) {
                d[0] = (byte) (1 + rnd.nextInt(6));
            }
            for (boolean toServer : new boolean[] {true, false}) {
                if (Sealed.check(d, 0, len, toServer) == null) {
                    Sealed.sessionIndex(d, 0);
                    if (Sealed.open(cs, d, 0, len, plain, 0) >= 0) {
                        fail("a random datagram authenticated");
                    }
                }
            }
            RelayControl.checkBind(d, 0, len);
            if (V2Handshake.checkInitiation(d, 0, len) == null) {
                try {
                    V2Handshake.readInitiation(server, d, 0, len, plain);
                    fail("a random message 1 authenticated");
                } catch (HandshakeException expected) {
                    // what every forged message 1 must give
                }
            }
            V2Handshake.checkResponse(d, 0, len);
        }
    }

    /** Runs both checks and, for what passes, every accessor; returns 1 if something passed. */
    static int exercise(byte[] p, int off, int len) {
        int accepted = 0;
        if (V2Messages.checkToServer(p, off, len) == null) {
            readToServer(p, off, off + len);
            accepted = 1;
        }
        if (V2Messages.checkToClient(p, off, len) == null) {
            readToClient(p, off, off + len);
            accepted = 1;
        }
        return accepted;
    }

    private static void readToServer(byte[] p, int off, int limit) {
        Sealed.id(p, off);
        switch (Sealed.kind(p, off)) {
            case V2Wire.KIND_LOOKUP -> {
                BatchLookup.want(p, off);
                for (int i = 0; i < BatchLookup.keyCount(p, off); i++) {
                    touch(p, BatchLookup.keyOffset(off, i), 32, limit);
                }
            }
            case V2Wire.KIND_SUBSCRIBE -> {
                Subscription.operation(p, off);
                Subscription.want(p, off);
                for (int i = 0; i < Subscription.keyCount(p, off); i++) {
                    touch(p, Subscription.keyOffset(off, i), 32, limit);
                }
            }
            case V2Wire.KIND_REGISTER -> {
                Registration.replacesCandidates(p, off);
                for (int i = 0; i < Registration.candidateCount(p, off); i++) {
                    endpoint(p, Registration.candidateOffset(off, i), limit);
                }
            }
            case V2Wire.KIND_PROBE -> Probe.flags(p, off);
            case V2Wire.KIND_RELAY -> {
                RelayControl.operation(p, off);
                touch(p, RelayControl.peerKeyOffset(off), 32, limit);
            }
            case V2Wire.KIND_PUSH_ACK, V2Wire.KIND_INFO -> Sealed.bodyLength(p, off);
            default -> fail("accepted kind " + Sealed.kind(p, off));
        }
    }

    private static void readToClient(byte[] p, int off, int limit) {
        Sealed.id(p, off);
        switch (Sealed.kind(p, off)) {
            case V2Wire.KIND_LOOKUP_RESULT -> {
                BatchLookup.answered(p, off);
                int end = BatchLookup.entriesEnd(p, off);
                for (int e = BatchLookup.firstEntry(off); e < end; e = BatchLookup.nextEntry(p, e)) {
                    BatchLookup.entryPosition(p, e);
                    BatchLookup.entryVersion(p, e);
                    for (int i = 0; i < BatchLookup.entryEndpointCount(p, e); i++) {
                        endpoint(p, BatchLookup.entryEndpoint(e, i), limit);
                    }
                }
            }
            case V2Wire.KIND_PUSH_UPDATE -> {
                int end = Push.entriesEnd(p, off);
                for (int e = Push.firstEntry(off); e < end; e = Push.nextEntry(p, e)) {
                    touch(p, Push.entryKeyOffset(e), 32, limit);
                    Push.entryVersion(p, e);
                    for (int i = 0; i < Push.entryEndpointCount(p, e); i++) {
                        endpoint(p, Push.entryEndpoint(e, i), limit);
                    }
                }
            }
            case V2Wire.KIND_SUBSCRIBE_RESULT -> {
                Subscription.status(p, off);
                Subscription.setSize(p, off);
                Subscription.cap(p, off);
            }
            case V2Wire.KIND_REGISTER_RESULT -> {
                endpoint(p, Registration.observedOffset(off), limit);
                Registration.accepted(p, off);
            }
            case V2Wire.KIND_PROBE_RESULT -> {
                endpoint(p, Probe.mappedOffset(off), limit);
                endpoint(p, Probe.originOffset(off), limit);
            }
            case V2Wire.KIND_INFO_RESULT -> {
                for (int i = 0; i < ServerInfo.endpointCount(p, off); i++) {
                    endpoint(p, ServerInfo.endpointOffset(off, i), limit);
                }
            }
            case V2Wire.KIND_RELAY_RESULT -> {
                RelayControl.lifetimeSeconds(p, off);
                if (RelayControl.status(p, off) == RelayControl.STATUS_READY) {
                    endpoint(p, RelayControl.relayEndpointOffset(off), limit);
                    touch(p, RelayControl.tokenOffset(off), 16, limit);
                }
            }
            case V2Wire.KIND_ERROR -> ErrorMessage.code(p, off);
            default -> fail("accepted kind " + Sealed.kind(p, off));
        }
    }

    private static void touch(byte[] p, int from, int n, int limit) {
        if (from < 0 || from + n > limit) {
            fail("field outside the plaintext");
        }
    }

    private static void endpoint(byte[] p, int at, int limit) {
        touch(p, at, WireEndpoint.LENGTH, limit);
        WireEndpoint.read(p, at);
    }
}
