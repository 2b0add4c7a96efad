package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.NoiseHandshake;
import java.util.Arrays;

/**
 * Coverage-guided fuzz targets for the version 2 codecs (the seeded random rounds of {@link
 * V2FuzzTest} are their fixed-seed counterpart). A check never throws; whatever it accepts can be
 * read with every accessor of its kind inside the input; the verdict does not depend on where in
 * a buffer the input sits; a capability block that passes re-encodes to the same block; and no
 * fuzzed datagram ever authenticates.
 */
class V2CodecsFuzzTest {
    private static final CipherState KEY = CipherState.fromKey(V2Examples.KEY_CS);

    /** A sealed plaintext (inner header and body), both directions. */
    @FuzzTest(maxDuration = "60s")
    void plaintexts(byte[] p) {
        int accepted = V2FuzzTest.exercise(p, 0, p.length);
        byte[] shifted = new byte[p.length + 3];
        System.arraycopy(p, 0, shifted, 3, p.length);
        assertEquals(accepted, V2FuzzTest.exercise(shifted, 3, p.length), "the verdict moved with the offset");
    }

    /** A capability block, as the client offers it and as the server answers it. */
    @FuzzTest(maxDuration = "60s")
    void capabilityBlocks(byte[] b) {
        for (boolean fromServer : new boolean[] {false, true}) {
            if (Capabilities.check(b, 0, b.length, fromServer) != null) {
                continue;
            }
            Capabilities c = Capabilities.read(b, 0, b.length, fromServer);
            byte[] again = new byte[V2Wire.MAX_CAPABILITY_BLOCK];
            int n = c.encode(again, 0);
            assertEquals(null, Capabilities.check(again, 0, n, fromServer), "re-encoding is rejected: " + c);
            assertEquals(c, Capabilities.read(again, 0, n, fromServer), "re-encoding changed it");
        }
    }

    /** A whole datagram: the first-line checks of every type, then what each passes on to. */
    @FuzzTest(maxDuration = "60s")
    void datagrams(byte[] d) throws Exception {
        byte[] plain = new byte[Math.max(d.length, 16)];
        for (boolean toServer : new boolean[] {true, false}) {
            if (Sealed.check(d, 0, d.length, toServer) == null) {
                assertTrue(d.length >= V2Wire.MIN_SEALED_LENGTH && d.length <= V2Wire.MAX_DATAGRAM);
                Sealed.sessionIndex(d, 0);
                Sealed.counter(d, 0);
                if (Sealed.open(KEY, d, 0, d.length, plain, 0) >= 0) {
                    fail("a fuzzed datagram authenticated");
                }
            }
        }
        RelayControl.checkBind(d, 0, d.length);
        V2Handshake.checkResponse(d, 0, d.length);
        if (V2Handshake.checkInitiation(d, 0, d.length) == null) {
            NoiseHandshake server = NoiseHandshake.responder(V2Examples.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
            try {
                V2Handshake.readInitiation(server, d, 0, d.length, Arrays.copyOf(plain, V2Wire.MAX_INITIATION_LENGTH));
                fail("a fuzzed message 1 authenticated");
            } catch (HandshakeException expected) {
                // what every forged message 1 gives
            }
        }
    }
}
