package dev.natpunch.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class NoiseHandshakeTest {
    private static final byte[] PROLOGUE = NoiseHandshake.NATPUNCH_PROLOGUE;
    private static final byte[] TIMESTAMP = {0x17, 0x2a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};

    private final KeyPair server = KeyPair.generate();
    private final KeyPair client = KeyPair.generate();

    private static HandshakeException.Reason reasonOf(NoiseHandshake hs, byte[] msg, int length) {
        HandshakeException e = assertThrows(HandshakeException.class,
                () -> hs.readMessage(msg, 0, length, new byte[Math.max(0, length)], 0));
        return e.reason();
    }

    /** Message 1 from a fresh initiator, with the natpunch 8-byte payload. */
    private byte[] message1(NoiseHandshake init) {
        byte[] out = new byte[200];
        int n = init.writeMessage(TIMESTAMP, 0, 8, out, 0);
        return Arrays.copyOf(out, n);
    }

    @Test
    void prologueIsTheNatpunchGoString() {
        assertEquals(26, NoiseHandshake.NATPUNCH_PROLOGUE.length);
        assertEquals("natpunch-go is the best :)",
                new String(NoiseHandshake.NATPUNCH_PROLOGUE, StandardCharsets.US_ASCII));
    }

    @Test
    void initiatorAndResponderAgreeWithNatpunchSizes() throws Exception {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        assertTrue(init.isInitiator());
        assertFalse(resp.isInitiator());
        assertThrows(IllegalStateException.class, resp::remoteStaticKey);

        byte[] msg1 = message1(init);
        assertEquals(104, msg1.length);
        assertFalse(init.isComplete());
        byte[] payload = new byte[64];
        assertEquals(8, resp.readMessage(msg1, 0, msg1.length, payload, 0));
        assertArrayEquals(TIMESTAMP, Arrays.copyOf(payload, 8));
        assertEquals(client.publicKey(), resp.remoteStaticKey());
        assertEquals(server.publicKey(), init.remoteStaticKey());

        byte[] msg2 = new byte[100];
        int n2 = resp.writeMessage(new byte[0], 0, 0, msg2, 5);
        assertEquals(48, n2);
        assertTrue(resp.isComplete());
        assertEquals(0, init.readMessage(msg2, 5, n2, payload, 0));
        assertTrue(init.isComplete());
        assertArrayEquals(init.handshakeHash(), resp.handshakeHash());

        TransportKeys c = init.split();
        TransportKeys s = resp.split();
        byte[] lookup = new byte[64];
        client.publicKey().copyTo(lookup, 0);
        byte[] ct = new byte[80];
        assertEquals(80, c.sender().seal(0, lookup, 0, 64, ct, 0));
        byte[] pt = new byte[64];
        assertEquals(64, s.receiver().open(0, ct, 0, 80, pt, 0));
        assertArrayEquals(lookup, pt);

        byte[] answer = {(byte) 198, 18, 0, 7, 0x1f, (byte) 0x90};
        byte[] ct2 = new byte[22];
        assertEquals(22, s.sender().seal(0, answer, 0, 6, ct2, 0));
        byte[] pt2 = new byte[6];
        assertEquals(6, c.receiver().open(0, ct2, 0, 22, pt2, 0));
        assertArrayEquals(answer, pt2);
        // The directions use different keys.
        assertEquals(-1, c.receiver().tryOpen(0, ct, 0, 80, new byte[64], 0));
    }

    @Test
    void payloadInMessage2AndLongPayloadsRoundTrip() throws Exception {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        byte[] big = new byte[1000];
        Arrays.fill(big, (byte) 7);
        byte[] buf = new byte[2000];
        int n1 = init.writeMessage(big, 0, 1000, buf, 0);
        assertEquals(1096, n1);
        byte[] payload = new byte[1000];
        assertEquals(1000, resp.readMessage(buf, 0, n1, payload, 0));
        assertArrayEquals(big, payload);
        byte[] announce = "v2".getBytes(StandardCharsets.US_ASCII);
        int n2 = resp.writeMessage(announce, 0, 2, buf, 0);
        assertEquals(50, n2);
        assertEquals(2, init.readMessage(buf, 0, n2, payload, 0));
        assertEquals('v', payload[0]);
    }

    @Test
    void fixedEphemeralsGiveIdenticalBytes() throws Exception {
        KeyPair ei = KeyPair.generate();
        KeyPair er = KeyPair.generate();
        byte[][] first = run(ei, er);
        byte[][] second = run(ei, er);
        assertArrayEquals(first[0], second[0]);
        assertArrayEquals(first[1], second[1]);
        // Random ephemerals differ.
        byte[] a = message1(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE));
        byte[] b = message1(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE));
        assertFalse(Arrays.equals(a, b));
    }

    private byte[][] run(KeyPair ei, KeyPair er) throws HandshakeException {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE, ei);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE, er);
        byte[] m1 = message1(init);
        resp.readMessage(m1, 0, m1.length, new byte[8], 0);
        byte[] m2 = new byte[48];
        resp.writeMessage(new byte[0], 0, 0, m2, 0);
        return new byte[][] {m1, m2};
    }

    @Test
    void everyFlippedBitOfMessage1FailsAndLeavesTheResponderUsable() throws Exception {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        byte[] msg1 = message1(init);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        // Regions: e [0,32), encrypted s [32,80), encrypted payload [80,104).
        for (int bit = 0; bit < msg1.length * 8; bit++) {
            byte[] bad = msg1.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, reasonOf(resp, bad, bad.length),
                    "bit " + bit);
        }
        byte[] payload = new byte[8];
        assertEquals(8, resp.readMessage(msg1, 0, msg1.length, payload, 0));
        assertArrayEquals(TIMESTAMP, payload);
    }

    @Test
    void everyFlippedBitOfMessage2FailsAndLeavesTheInitiatorUsable() throws Exception {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        byte[] msg1 = message1(init);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        resp.readMessage(msg1, 0, msg1.length, new byte[8], 0);
        byte[] msg2 = new byte[48];
        resp.writeMessage(new byte[0], 0, 0, msg2, 0);
        // Regions: e [0,32), payload tag [32,48).
        for (int bit = 0; bit < msg2.length * 8; bit++) {
            byte[] bad = msg2.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, reasonOf(init, bad, bad.length),
                    "bit " + bit);
            assertFalse(init.isComplete());
        }
        assertEquals(0, init.readMessage(msg2, 0, 48, new byte[0], 0));
        assertTrue(init.isComplete());
        byte[] ct = new byte[16];
        init.split().sender().seal(0, new byte[0], 0, 0, ct, 0);
        assertEquals(0, resp.split().receiver().tryOpen(0, ct, 0, 16, new byte[0], 0));
    }

    /** One handshake between {@code init} and {@code resp}; true if a sealed message crosses its transport keys. */
    private static boolean completes(NoiseHandshake init, NoiseHandshake resp, StaticDhCache cache) throws Exception {
        byte[] m1 = new byte[104];
        init.writeMessage(TIMESTAMP, 0, 8, m1, 0);
        byte[] payload = new byte[8];
        resp.readMessage(m1, 0, 104, payload, 0, cache);
        assertArrayEquals(TIMESTAMP, payload);
        byte[] m2 = new byte[48];
        resp.writeMessage(new byte[0], 0, 0, m2, 0);
        init.readMessage(m2, 0, 48, new byte[0], 0);
        byte[] ct = new byte[20];
        init.split().sender().seal(3, new byte[] {1, 2, 3, 4}, 0, 4, ct, 0);
        return resp.split().receiver().tryOpen(3, ct, 0, 20, new byte[4], 0) == 4;
    }

    @Test
    void aResetResponderServesHandshakeAfterHandshake() throws Exception {
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        for (int i = 0; i < 5; i++) {
            KeyPair someone = i % 2 == 0 ? client : KeyPair.generate();
            resp.reset();
            assertTrue(completes(NoiseHandshake.initiator(someone, server.publicKey(), PROLOGUE), resp, null), "round " + i);
            assertEquals(someone.publicKey(), resp.remoteStaticKey());
        }
        // A failed read, then a reset: the next handshake is unaffected.
        byte[] forged = message1(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE));
        forged[90] ^= 1;
        resp.reset();
        assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, reasonOf(resp, forged, forged.length));
        resp.reset();
        assertTrue(completes(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE), resp, null));
        // A reset in the middle of a handshake abandons it.
        resp.reset();
        resp.readMessage(message1(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE)), 0, 104, new byte[8], 0);
        resp.reset();
        assertThrows(IllegalStateException.class, () -> resp.writeMessage(new byte[0], 0, 0, new byte[48], 0));
        assertThrows(IllegalStateException.class, resp::remoteStaticKey);

        assertThrows(IllegalStateException.class,
                () -> NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE).reset());
        assertThrows(IllegalStateException.class,
                () -> NoiseHandshake.responder(server, PROLOGUE, KeyPair.generate()).reset());
    }

    /** Remembers ss per initiator key, counting what it is asked. */
    private static final class MapCache implements StaticDhCache {
        final java.util.Map<Key, byte[]> values = new java.util.HashMap<>();
        int found;
        int offered;

        @Override
        public boolean find(byte[] remoteStatic, int offset, byte[] out) {
            byte[] v = values.get(Key.fromBytes(Arrays.copyOfRange(remoteStatic, offset, offset + 32)));
            if (v == null) {
                return false;
            }
            System.arraycopy(v, 0, out, 0, 32);
            found++;
            return true;
        }

        @Override
        public void offer(byte[] remoteStatic, int offset, byte[] ss) {
            values.put(Key.fromBytes(Arrays.copyOfRange(remoteStatic, offset, offset + 32)), ss.clone());
            offered++;
        }
    }

    @Test
    void aRememberedStaticDhIsExactlyTheComputedOne() throws Exception {
        MapCache cache = new MapCache();
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        resp.reset();
        assertTrue(completes(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE), resp, cache));
        assertEquals(1, cache.offered);
        byte[] expected = new byte[32];
        assertTrue(X25519.agree(server.privateKey().material(), 0, client.publicKey().toBytes(), 0, expected, 0));
        assertArrayEquals(expected, cache.values.get(client.publicKey()), "ss = DH(s, rs), of the static keys alone");

        for (int i = 0; i < 3; i++) {
            resp.reset();
            assertTrue(completes(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE), resp, cache));
        }
        assertEquals(3, cache.found, "the known initiator's next handshakes used the remembered value");
        assertEquals(1, cache.offered);
    }

    @Test
    void aWrongRememberedValueFailsTheHandshakeAndNothingUnauthenticatedIsOffered() throws Exception {
        MapCache cache = new MapCache();
        cache.values.put(client.publicKey(), new byte[32]);
        cache.values.get(client.publicKey())[0] = 9;
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        byte[] m1 = message1(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE));
        HandshakeException e = assertThrows(HandshakeException.class,
                () -> resp.readMessage(m1, 0, m1.length, new byte[8], 0, cache));
        assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, e.reason(), "the payload's tag checks ss");

        // A message 1 whose payload does not authenticate (a forger who picked the client's key
        // but lacks its private key) computes ss but never offers it.
        cache.values.clear();
        byte[] forged = m1.clone();
        forged[100] ^= 1;
        resp.reset();
        assertThrows(HandshakeException.class, () -> resp.readMessage(forged, 0, forged.length, new byte[8], 0, cache));
        assertEquals(0, cache.offered);
        assertTrue(cache.values.isEmpty());
    }

    @Test
    void theRemoteStaticKeyCanBeCopiedWithoutAKeyObject() throws Exception {
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        assertThrows(IllegalStateException.class, () -> resp.copyRemoteStaticKey(new byte[32], 0));
        byte[] m1 = message1(NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE));
        resp.readMessage(m1, 0, m1.length, new byte[8], 0);
        byte[] out = new byte[40];
        resp.copyRemoteStaticKey(out, 8);
        assertArrayEquals(client.publicKey().toBytes(), Arrays.copyOfRange(out, 8, 40));
    }

    @Test
    void wrongServerKeyMakesTheResponderFail() {
        KeyPair otherServer = KeyPair.generate();
        NoiseHandshake init = NoiseHandshake.initiator(client, otherServer.publicKey(), PROLOGUE);
        byte[] msg1 = message1(init);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, reasonOf(resp, msg1, msg1.length));
    }

    @Test
    void differentProloguesDoNotInteroperate() {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), "other".getBytes(StandardCharsets.US_ASCII));
        byte[] msg1 = message1(init);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, reasonOf(resp, msg1, msg1.length));
    }

    @Test
    void everyTruncationIsReported() throws Exception {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        byte[] msg1 = message1(init);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        for (int len = 0; len < 96; len++) {
            assertEquals(HandshakeException.Reason.TRUNCATED, reasonOf(resp, msg1, len), "length " + len);
        }
        // 96..103 bytes are long enough to parse but cut the payload, so the tag fails.
        for (int len = 96; len < 104; len++) {
            assertEquals(HandshakeException.Reason.DECRYPTION_FAILED, reasonOf(resp, msg1, len), "length " + len);
        }
        resp.readMessage(msg1, 0, msg1.length, new byte[8], 0);
        byte[] msg2 = new byte[48];
        resp.writeMessage(new byte[0], 0, 0, msg2, 0);
        for (int len = 0; len < 48; len++) {
            assertEquals(HandshakeException.Reason.TRUNCATED, reasonOf(init, msg2, len), "length " + len);
        }
        assertEquals(0, init.readMessage(msg2, 0, 48, new byte[0], 0));
    }

    @Test
    void lowOrderKeysAreRejected() throws Exception {
        Key zero = Key.fromBytes(new byte[32]);
        assertThrows(IllegalArgumentException.class, () -> NoiseHandshake.initiator(client, zero, PROLOGUE));
        byte[] one = new byte[32];
        one[0] = 1;
        assertThrows(IllegalArgumentException.class,
                () -> NoiseHandshake.initiator(client, Key.fromBytes(one), PROLOGUE));

        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        byte[] msg1 = message1(init);
        byte[] badE = msg1.clone();
        Arrays.fill(badE, 0, 32, (byte) 0);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        assertEquals(HandshakeException.Reason.INVALID_KEY, reasonOf(resp, badE, badE.length));

        resp.readMessage(msg1, 0, msg1.length, new byte[8], 0);
        byte[] msg2 = new byte[48];
        resp.writeMessage(new byte[0], 0, 0, msg2, 0);
        byte[] badE2 = msg2.clone();
        System.arraycopy(one, 0, badE2, 0, 32);
        assertEquals(HandshakeException.Reason.INVALID_KEY, reasonOf(init, badE2, 48));
        assertEquals(0, init.readMessage(msg2, 0, 48, new byte[0], 0));
    }

    @Test
    void callsOutOfTurnAreRefused() throws Exception {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        byte[] buf = new byte[200];
        assertThrows(IllegalStateException.class, () -> resp.writeMessage(new byte[0], 0, 0, buf, 0));
        assertEquals(HandshakeException.Reason.WRONG_STATE, reasonOf(init, buf, 48));
        assertThrows(IllegalStateException.class, init::split);

        byte[] msg1 = message1(init);
        assertThrows(IllegalStateException.class, () -> init.writeMessage(new byte[0], 0, 0, buf, 0));
        resp.readMessage(msg1, 0, msg1.length, new byte[8], 0);
        assertEquals(HandshakeException.Reason.WRONG_STATE, reasonOf(resp, msg1, msg1.length));
        assertThrows(IllegalStateException.class, resp::split);
        int n2 = resp.writeMessage(new byte[0], 0, 0, buf, 0);
        byte[] msg2 = Arrays.copyOf(buf, n2);
        assertThrows(IllegalStateException.class, () -> resp.writeMessage(new byte[0], 0, 0, buf, 0));
        assertEquals(HandshakeException.Reason.WRONG_STATE, reasonOf(resp, msg2, 48));
        init.readMessage(msg2, 0, 48, new byte[0], 0);
        assertEquals(HandshakeException.Reason.WRONG_STATE, reasonOf(init, msg2, 48));
        assertThrows(IllegalStateException.class, () -> init.writeMessage(new byte[0], 0, 0, buf, 0));

        init.split();
        assertThrows(IllegalStateException.class, init::split);
        assertFalse(init.isComplete());
        assertEquals(HandshakeException.Reason.WRONG_STATE, reasonOf(init, msg2, 48));
    }

    @Test
    void buffersThatAreTooSmallAreProgrammingErrors() {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        assertThrows(IndexOutOfBoundsException.class, () -> init.writeMessage(TIMESTAMP, 0, 8, new byte[103], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> init.writeMessage(TIMESTAMP, 0, 8, new byte[104], 1));
        // The failed write did not advance the handshake.
        byte[] msg1 = message1(init);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        assertThrows(IndexOutOfBoundsException.class, () -> resp.readMessage(msg1, 0, 104, new byte[7], 0));
        assertThrows(IllegalArgumentException.class,
                () -> NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE)
                        .writeMessage(new byte[65535], 0, 65535 - 95, new byte[70000], 0));
    }

    @Test
    void splitKeysAreDistinctPerSessionAndToStringHidesSecrets() throws Exception {
        TransportKeys a = fullHandshake()[0];
        TransportKeys b = fullHandshake()[0];
        byte[] ca = new byte[16];
        byte[] cb = new byte[16];
        a.sender().seal(0, new byte[0], 0, 0, ca, 0);
        b.sender().seal(0, new byte[0], 0, 0, cb, 0);
        assertNotEquals(Arrays.toString(ca), Arrays.toString(cb));
        NoiseHandshake hs = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        assertFalse(hs.toString().contains(client.privateKey().toBase64()));
        assertFalse(a.toString().contains("="));
    }

    private TransportKeys[] fullHandshake() throws HandshakeException {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), PROLOGUE);
        NoiseHandshake resp = NoiseHandshake.responder(server, PROLOGUE);
        byte[] m1 = message1(init);
        resp.readMessage(m1, 0, m1.length, new byte[8], 0);
        byte[] m2 = new byte[48];
        resp.writeMessage(new byte[0], 0, 0, m2, 0);
        init.readMessage(m2, 0, 48, new byte[0], 0);
        return new TransportKeys[] {init.split(), resp.split()};
    }
}
