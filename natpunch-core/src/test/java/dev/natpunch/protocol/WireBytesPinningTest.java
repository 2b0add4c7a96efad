package dev.natpunch.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pins the exact bytes of every v1 message for fixed keys, ephemerals, timestamp, index and
 * counters, so that any change to the layout or the cryptography shows up here. The constants were
 * computed once by this implementation; each test also checks the spec table's layout by hand
 * (type byte, index, counter placement, cleartext ephemeral, plaintext layout).
 */
class WireBytesPinningTest {
    private static final HexFormat HEX = HexFormat.of();

    private static final KeyPair CLIENT = pair("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf");
    private static final KeyPair SERVER = pair("5051525354555657585960616263646566676869707172737475767778798081");
    private static final KeyPair CLIENT_EPHEMERAL = pair("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    private static final KeyPair SERVER_EPHEMERAL = pair("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
    private static final Key PEER = Key.fromHex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    private static final int PROPOSAL = 0x01020304;
    private static final int ASSIGNED = PROPOSAL + 1;
    private static final long TIMESTAMP = 1_764_028_800_123_456_789L;

    private static final String MSG1 = "0101020304736845d54e87de09d6bb114aa7042c50a4a015bd9901d1a0026f59"
            + "56533a15190b09609380a55994f9f6a590ba272c2be4184ace12454a4cf0f371"
            + "313a7f1b5982e6ac5882fe458ae3f3431097a3c165b2b42a96a1277683b939f0"
            + "86b702c4141bcd1efe007511e5";
    private static final String MSG2 = "0201020305605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6"
            + "e2f805d23c0a2c06a1a4d481409e8210c9e8ed864d";
    private static final String LOOKUP = "03010203050000000000000000d5fe63d93ddc839bd6a54651437d85a77e5de8"
            + "80ae5a73b952f2f5a9e7a21a9b7b0a3a0a85d9b8d275c33bfb1d081256a1b76e"
            + "16f8a90822096579b4504f00dc4f558cd9fb400e85e31c232e51dc43c2";
    private static final String FOUND = "030000000000000000137f34a4e262cea6a748ca34f882075e66c7adbf25b8";
    private static final String NOT_FOUND = "03000000000000000131eac02669e88c64b10ee20ff13bd8cc";

    private static byte[] msg1;
    private static byte[] msg2;
    private static TransportKeys clientKeys;
    private static TransportKeys serverKeys;

    private static KeyPair pair(String hex) {
        return KeyPair.fromPrivateKey(Key.fromHex(hex));
    }

    @BeforeAll
    static void handshake() throws Exception {
        NoiseHandshake initiator = NoiseHandshake.initiator(CLIENT, SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE, CLIENT_EPHEMERAL);
        NoiseHandshake responder = NoiseHandshake.responder(SERVER, NoiseHandshake.NATPUNCH_PROLOGUE, SERVER_EPHEMERAL);
        msg1 = new byte[Wire.INITIATION_LENGTH];
        assertEquals(109, HandshakeInitiation.encode(initiator, PROPOSAL, TIMESTAMP, new byte[8], msg1, 0));
        assertEquals(TIMESTAMP, HandshakeInitiation.read(responder, msg1, 0, new byte[8]));
        assertEquals(CLIENT.publicKey(), responder.remoteStaticKey());
        msg2 = new byte[Wire.RESPONSE_LENGTH];
        assertEquals(53, HandshakeResponse.encode(responder, ASSIGNED, msg2, 0));
        HandshakeResponse.read(initiator, msg2, 0, new byte[0]);
        clientKeys = initiator.split();
        serverKeys = responder.split();
    }

    @Test
    void handshakeInitiation() {
        assertEquals(1, msg1[0]);
        assertEquals("01020304", HEX.formatHex(msg1, 1, 5));
        // Noise's e travels in clear right after the index.
        assertArrayEquals(CLIENT_EPHEMERAL.publicKey().toBytes(), Arrays.copyOfRange(msg1, 5, 37));
        assertEquals(PROPOSAL, HandshakeInitiation.proposedIndex(msg1, 0));
        assertEquals(MSG1, HEX.formatHex(msg1));
    }

    @Test
    void handshakeResponse() {
        assertEquals(2, msg2[0]);
        assertEquals("01020305", HEX.formatHex(msg2, 1, 5));
        assertArrayEquals(SERVER_EPHEMERAL.publicKey().toBytes(), Arrays.copyOfRange(msg2, 5, 37));
        assertEquals(MSG2, HEX.formatHex(msg2));
    }

    @Test
    void lookupRequest() {
        byte[] d = new byte[Wire.LOOKUP_REQUEST_LENGTH];
        assertEquals(93, LookupRequest.encode(clientKeys.sender(), ASSIGNED, 0, CLIENT.publicKey(), PEER, new byte[64], d, 0));
        assertEquals(3, d[0]);
        assertEquals("01020305", HEX.formatHex(d, 1, 5));
        assertEquals("0000000000000000", HEX.formatHex(d, 5, 13));
        byte[] plain = new byte[64];
        assertEquals(true, LookupRequest.open(serverKeys.receiver(), d, 0, plain, 0));
        assertArrayEquals(CLIENT.publicKey().toBytes(), Arrays.copyOfRange(plain, 0, 32));
        assertArrayEquals(PEER.toBytes(), Arrays.copyOfRange(plain, 32, 64));
        assertEquals(LOOKUP, HEX.formatHex(d));
    }

    @Test
    void lookupResponseFound() {
        byte[] d = new byte[Wire.LOOKUP_RESPONSE_FOUND_LENGTH];
        // 198.18.0.7:51820
        assertEquals(31, LookupResponse.encodeFound(serverKeys.sender(), 0, 0xC6120007, 51820, new byte[6], d, 0));
        assertEquals(3, d[0]);
        assertEquals("0000000000000000", HEX.formatHex(d, 1, 9));
        byte[] plain = new byte[6];
        assertEquals(6, LookupResponse.open(clientKeys.receiver(), d, 0, d.length, plain));
        assertEquals("c6120007" + "ca6c", HEX.formatHex(plain));
        assertEquals(FOUND, HEX.formatHex(d));
    }

    @Test
    void lookupResponseNotFound() {
        byte[] d = new byte[Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH];
        assertEquals(25, LookupResponse.encodeNotFound(serverKeys.sender(), 1, d, 0));
        assertEquals(3, d[0]);
        assertEquals("0000000000000001", HEX.formatHex(d, 1, 9));
        assertEquals(0, LookupResponse.open(clientKeys.receiver(), d, 0, d.length, new byte[6]));
        assertEquals(-1, LookupResponse.open(serverKeys.receiver(), d, 0, d.length, new byte[6]),
                "each direction has its own key");
        assertEquals(NOT_FOUND, HEX.formatHex(d));
    }
}
