package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.natpunch.crypto.CipherState;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SealedTest {
    private static final CipherState CS = CipherState.fromKey(V2Examples.KEY_CS);
    private static final CipherState SC = CipherState.fromKey(V2Examples.KEY_SC);

    @Test
    void sizesOfTheSpecification() {
        assertEquals(1232, V2Wire.MAX_DATAGRAM);
        assertEquals(36, V2Wire.MIN_SEALED_LENGTH);
        assertEquals(1203, V2Wire.MAX_PLAINTEXT);
        assertEquals(1196, V2Wire.MAX_BODY);
        assertEquals(37, V2Wire.MAX_LOOKUP_KEYS);
        assertEquals(37, V2Wire.MAX_SUBSCRIBE_KEYS);
        assertEquals(365, V2Wire.MAX_INITIATION_LENGTH);
        assertEquals(309, V2Wire.MAX_RESPONSE_LENGTH);
        assertEquals(1203, Sealed.plaintextLimit(5000));
        assertEquals(72, Sealed.plaintextLimit(101));
    }

    @Test
    void everyTypeAndLength() {
        for (int type = 0; type < 256; type++) {
            for (int len = 0; len <= 1300; len++) {
                byte[] d = new byte[len + 2];
                d[2 % d.length] = (byte) type;
                for (boolean toServer : new boolean[] {true, false}) {
                    int mine = toServer ? 4 : 5;
                    int theirs = toServer ? 5 : 4;
                    V2Rejection want;
                    if (len == 0) {
                        want = V2Rejection.TOO_SHORT;
                    } else if (type == theirs) {
                        want = V2Rejection.WRONG_DIRECTION;
                    } else if (type != mine) {
                        want = V2Rejection.UNKNOWN_TYPE;
                    } else if (len < 36) {
                        want = V2Rejection.TOO_SHORT;
                    } else {
                        want = len > 1232 ? V2Rejection.TOO_LONG : null;
                    }
                    assertEquals(want, Sealed.check(d, 2, len, toServer), type + "/" + len + "/" + toServer);
                }
            }
        }
    }

    @Test
    void roundTripWithPaddingAtAnOffset() {
        byte[] p = new byte[300];
        Arrays.fill(p, (byte) 0x55);
        int n = Probe.writeRequest(p, 10, 99, Probe.FLAG_CHANGE_ADDRESS);
        byte[] d = new byte[400];
        int len = Sealed.seal(CS, V2Wire.TYPE_SEALED_TO_SERVER, 0xcafebabe, 77, p, 10, n, 74, d, 5);
        assertEquals(74, len);
        assertNull(Sealed.check(d, 5, len, true));
        assertEquals(0xcafebabe, Sealed.sessionIndex(d, 5));
        assertEquals(77, Sealed.counter(d, 5));
        byte[] got = new byte[100];
        assertEquals(45, Sealed.open(CS, d, 5, len, got, 3));
        assertNull(V2Messages.checkToServer(got, 3, 45), "the stale 0x55 bytes became zero padding");
        assertEquals(99, Sealed.id(got, 3));
        assertEquals(Probe.FLAG_CHANGE_ADDRESS, Probe.flags(got, 3));
    }

    @Test
    void paddingNeverShortens() {
        byte[] p = new byte[100];
        int n = ErrorMessage.write(p, 0, 1, ErrorMessage.MALFORMED);
        byte[] d = new byte[200];
        assertEquals(37, Sealed.seal(SC, V2Wire.TYPE_SEALED_TO_CLIENT, 1, 0, p, 0, n, 10, d, 0));
    }

    @Test
    void tooLongIsAProgrammingError() {
        byte[] p = new byte[2000];
        byte[] d = new byte[2000];
        assertThrows(IllegalArgumentException.class,
                () -> Sealed.seal(CS, V2Wire.TYPE_SEALED_TO_SERVER, 1, 0, p, 0, 1204, 0, d, 0));
        assertThrows(IllegalArgumentException.class,
                () -> Sealed.seal(CS, V2Wire.TYPE_SEALED_TO_SERVER, 1, 0, p, 0, 7, 1233, d, 0));
        assertEquals(1232, Sealed.seal(CS, V2Wire.TYPE_SEALED_TO_SERVER, 1, 0, p, 0, 7, 1232, d, 0));
    }

    /** Header bytes are associated data: changing type, index or counter breaks the tag, as does any other bit. */
    @Test
    void everyBitIsAuthenticated() {
        byte[] p = new byte[100];
        int n = Push.writeAck(p, 0, 1234);
        byte[] d = new byte[100];
        int len = Sealed.seal(CS, V2Wire.TYPE_SEALED_TO_SERVER, 9, 3, p, 0, n, 0, d, 0);
        byte[] out = new byte[100];
        for (int i = 0; i < len; i++) {
            for (int bit = 0; bit < 8; bit++) {
                d[i] ^= (byte) (1 << bit);
                assertEquals(-1, Sealed.open(CS, d, 0, len, out, 0), "byte " + i + " bit " + bit);
                d[i] ^= (byte) (1 << bit);
            }
        }
        assertEquals(n, Sealed.open(CS, d, 0, len, out, 0));
        assertEquals(-1, Sealed.open(SC, d, 0, len, out, 0), "each direction has its own key");
        assertArrayEquals(Arrays.copyOf(p, n), Arrays.copyOf(out, n));
    }
}
