package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.Wire;
import org.junit.jupiter.api.Test;

class CapabilitiesTest {
    private static final byte[] SCRATCH = new byte[8 + V2Wire.MAX_CAPABILITY_BLOCK];

    private static byte[] hex(String s) {
        return V2Examples.HEX.parseHex(s);
    }

    private static V2Rejection check(String hex, boolean fromServer) {
        byte[] b = hex(hex);
        return Capabilities.check(b, 0, b.length, fromServer);
    }

    @Test
    void offerAndAnswerRoundTrip() {
        Capabilities offer = V2Examples.offer();
        byte[] b = new byte[V2Wire.MAX_CAPABILITY_BLOCK];
        int n = offer.encode(b, 0);
        assertEquals(offer.encodedLength(), n);
        assertNull(Capabilities.check(b, 0, n, false));
        assertEquals(offer, Capabilities.read(b, 0, n, false));

        Capabilities answer = V2Examples.answer();
        n = answer.encode(b, 3);
        assertEquals(38, n);
        assertNull(Capabilities.check(b, 3, n, true));
        assertEquals(answer, Capabilities.read(b, 3, n, true));
        assertTrue(answer.isValidAnswerTo(offer));
    }

    @Test
    void negotiationTakesTheLowerVersionAndTheCommonFeatures() {
        Capabilities offer = Capabilities.offer(5, V2Wire.FEATURE_PUSH | V2Wire.FEATURE_RELAY | 1L << 40);
        Capabilities answer = Capabilities.answer(offer, 2, V2Wire.FEATURES_V2, null, 0);
        assertEquals(2, answer.version());
        assertEquals(V2Wire.FEATURE_PUSH | V2Wire.FEATURE_RELAY, answer.features());
        assertTrue(answer.has(V2Wire.FEATURE_PUSH));
        assertFalse(answer.has(V2Wire.FEATURE_BATCH_LOOKUP));
        assertTrue(answer.isValidAnswerTo(offer));
        assertFalse(new Capabilities(6, 0, null, 0).isValidAnswerTo(offer), "higher version than offered");
        assertFalse(new Capabilities(2, V2Wire.FEATURE_NAT_PROBE, null, 0).isValidAnswerTo(offer), "feature not offered");
    }

    @Test
    void unknownTypesAndPaddingAreSkipped() {
        // PAD of 3, an unknown type 0x7e with 2 bytes, VERSION 2, FEATURES.
        String block = "0003000000" + "7e02abcd" + "010102" + "0208000000000000000f";
        assertNull(check(block, false));
        byte[] b = hex(block);
        assertEquals(Capabilities.offer(2, 0x0f), Capabilities.read(b, 0, b.length, false));
    }

    @Test
    void serverOnlyTypesAreSkippedInAnOffer() {
        // OBSERVED_ENDPOINT with a nonsense value and SESSION_LIFETIME of 3 bytes: unknown in an offer.
        String block = "010102" + "030100" + "0403010203";
        assertNull(check(block, false));
        assertEquals(V2Rejection.TLV_LENGTH, check(block, true));
    }

    @Test
    void featuresMayBeAbsent() {
        byte[] b = hex("010103");
        assertNull(Capabilities.check(b, 0, 3, false));
        assertEquals(Capabilities.offer(3, 0), Capabilities.read(b, 0, 3, false));
    }

    @Test
    void malformedBlocks() {
        assertEquals(V2Rejection.VERSION, check("", false), "empty: the caller treats it as version 1 first");
        assertEquals(V2Rejection.VERSION, check("0208000000000000000f", false), "no VERSION");
        assertEquals(V2Rejection.VERSION, check("010101", false), "version 1 in a block");
        assertEquals(V2Rejection.VERSION, check("010100", false));
        assertEquals(V2Rejection.TLV_DUPLICATE, check("010102010102", false));
        assertEquals(V2Rejection.TLV_LENGTH, check("01020200", false));
        assertEquals(V2Rejection.TLV_LENGTH, check("010102" + "02040000000f", false));
        assertEquals(V2Rejection.TLV_TRUNCATED, check("010102" + "02", false));
        assertEquals(V2Rejection.TLV_TRUNCATED, check("010102" + "020800", false));
        assertEquals(V2Rejection.TLV_TRUNCATED, check("7eff00", false));
        assertEquals(V2Rejection.ENDPOINT, check("010102" + "0313" + "14" + "00".repeat(16) + "ca6c", true));
        assertEquals(V2Rejection.ENDPOINT_KIND, check("010102" + "0313" + "24" + "00000000000000000000ffffc6120007ca6c", true));
        byte[] big = new byte[V2Wire.MAX_CAPABILITY_BLOCK + 1];
        assertEquals(V2Rejection.TOO_LONG, Capabilities.check(big, 0, big.length, false));
    }

    @Test
    void valueRulesAreEnforcedOnConstruction() {
        assertThrows(IllegalArgumentException.class, () -> Capabilities.offer(1, 0));
        assertThrows(IllegalArgumentException.class, () -> Capabilities.offer(256, 0));
        assertThrows(IllegalArgumentException.class, () -> new Capabilities(2, 0, null, 65536));
        assertThrows(IllegalArgumentException.class, () -> new Capabilities(2, 0, V2Examples.LOCAL_V4, 0));
    }

    /** Our version 2 client against a version 1 server (natpunch-go, or our v1-only mode). */
    @Test
    void v2ClientFallsBackSilentlyAgainstAVersionOneServer() throws Exception {
        NoiseHandshake client = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE);
        NoiseHandshake server = NoiseHandshake.responder(V2Examples.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        int n1 = V2Handshake.encodeInitiation(client, 7, 42L, V2Examples.offer(), SCRATCH, m1, 0);
        assertEquals(122, n1);
        assertNull(V2Handshake.checkInitiation(m1, 0, n1));
        // A version 1 server reads the payload and uses only its first 8 bytes.
        byte[] payload = new byte[n1];
        int pl = V2Handshake.readInitiation(server, m1, 0, n1, payload);
        assertEquals(42L, Wire.readLong(payload, 0));
        assertEquals(21, pl);
        byte[] m2 = new byte[Wire.RESPONSE_LENGTH];
        HandshakeResponse.encode(server, 8, m2, 0);
        assertNull(V2Handshake.checkResponse(m2, 0, m2.length));
        assertEquals(0, V2Handshake.readResponse(client, m2, 0, m2.length, new byte[0]), "no block: version 1");
        assertSessionWorks(client.split(), server.split());
    }

    /** A version 1 client (natpunch-go, or our v1-only mode) against our version 2 server. */
    @Test
    void v2ServerAnswersAVersionOneClientWithTheVersionOneResponse() throws Exception {
        NoiseHandshake client = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE);
        NoiseHandshake server = NoiseHandshake.responder(V2Examples.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(client, 7, 42L, new byte[8], m1, 0);
        assertNull(V2Handshake.checkInitiation(m1, 0, m1.length));
        byte[] payload = new byte[m1.length];
        assertEquals(8, V2Handshake.readInitiation(server, m1, 0, m1.length, payload), "no block: version 1");
        byte[] m2 = new byte[V2Wire.MAX_RESPONSE_LENGTH];
        int n2 = V2Handshake.encodeResponse(server, 8, null, m1.length, SCRATCH, m2, 0);
        assertEquals(Wire.RESPONSE_LENGTH, n2, "exactly the 53 bytes a version 1 client knows");
        HandshakeResponse.read(client, m2, 0, new byte[0]);
        assertSessionWorks(client.split(), server.split());
    }

    @Test
    void v2BothWaysAgreeOnTheAnswer() throws Exception {
        NoiseHandshake client = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE);
        NoiseHandshake server = NoiseHandshake.responder(V2Examples.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        int n1 = V2Handshake.encodeInitiation(client, 7, 42L, V2Examples.offer(), SCRATCH, m1, 0);
        byte[] payload = new byte[n1];
        int pl = V2Handshake.readInitiation(server, m1, 0, n1, payload);
        assertNull(Capabilities.check(payload, 8, pl - 8, false));
        Capabilities offer = Capabilities.read(payload, 8, pl - 8, false);
        Capabilities answer = Capabilities.answer(offer, 2, V2Wire.FEATURE_BATCH_LOOKUP | V2Wire.FEATURE_PUSH,
                V2Examples.SRFLX_V6, 300);
        byte[] m2 = new byte[V2Wire.MAX_RESPONSE_LENGTH];
        int n2 = V2Handshake.encodeResponse(server, 8, answer, n1, SCRATCH, m2, 0);
        assertTrue(n2 <= n1, "message 2 never longer than message 1");
        byte[] block = new byte[n2];
        int bl = V2Handshake.readResponse(client, m2, 0, n2, block);
        assertNull(Capabilities.check(block, 0, bl, true));
        Capabilities got = Capabilities.read(block, 0, bl, true);
        assertEquals(answer, got);
        assertTrue(got.isValidAnswerTo(V2Examples.offer()));
        assertSessionWorks(client.split(), server.split());
    }

    @Test
    void responseLongerThanTheInitiationIsRefusedBeforeTouchingTheHandshake() throws Exception {
        NoiseHandshake client = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE);
        NoiseHandshake server = NoiseHandshake.responder(V2Examples.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        int n1 = V2Handshake.encodeInitiation(client, 7, 42L, null, SCRATCH, m1, 0);
        V2Handshake.readInitiation(server, m1, 0, n1, new byte[n1]);
        byte[] m2 = new byte[V2Wire.MAX_RESPONSE_LENGTH];
        // The largest answer of version 2 (91 bytes) fits even under a 109-byte message 1; a
        // shorter limit stands in for a future, larger block.
        assertEquals(-1, V2Handshake.encodeResponse(server, 8, V2Examples.answer(), 90, SCRATCH, m2, 0));
        assertEquals(91, V2Handshake.encodeResponse(server, 8, V2Examples.answer(), n1, SCRATCH, m2, 0),
                "the handshake is still usable");
    }

    @Test
    void handshakeLengthChecks() {
        for (int len = 0; len <= V2Wire.MAX_RESPONSE_LENGTH + 70; len++) {
            byte[] d = new byte[Math.max(1, len)];
            d[0] = 1;
            V2Rejection want = len == 0 ? V2Rejection.UNKNOWN_TYPE : len < 109 ? V2Rejection.TOO_SHORT
                    : len > 365 ? V2Rejection.TOO_LONG : null;
            assertEquals(want, V2Handshake.checkInitiation(d, 0, len), "message 1 of " + len);
            d[0] = 2;
            want = len == 0 ? V2Rejection.UNKNOWN_TYPE : len < 53 ? V2Rejection.TOO_SHORT
                    : len > 309 ? V2Rejection.TOO_LONG : null;
            assertEquals(want, V2Handshake.checkResponse(d, 0, len), "message 2 of " + len);
            d[0] = 3;
            assertEquals(V2Rejection.UNKNOWN_TYPE, V2Handshake.checkInitiation(d, 0, len));
            assertEquals(V2Rejection.UNKNOWN_TYPE, V2Handshake.checkResponse(d, 0, len));
        }
    }

    private static void assertSessionWorks(TransportKeys client, TransportKeys server) {
        byte[] p = new byte[64];
        byte[] d = new byte[V2Wire.MAX_DATAGRAM];
        int n = ServerInfo.writeRequest(p, 0, 1);
        int len = Sealed.seal(client.sender(), V2Wire.TYPE_SEALED_TO_SERVER, 8, 0, p, 0, n, 0, d, 0);
        assertEquals(n, Sealed.open(server.receiver(), d, 0, len, new byte[64], 0));
    }
}
