package dev.natpunch.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class MessagesTest {

    /** Lengths of the spec table, written out rather than taken from {@link Wire}. */
    @Test
    void lengthsMatchTheSpecTable() {
        assertEquals(109, Wire.INITIATION_LENGTH);
        assertEquals(53, Wire.RESPONSE_LENGTH);
        assertEquals(93, Wire.LOOKUP_REQUEST_LENGTH);
        assertEquals(31, Wire.LOOKUP_RESPONSE_FOUND_LENGTH);
        assertEquals(25, Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH);
    }

    @Test
    void serverSideValidationForEveryTypeAndLength() {
        for (int type = 0; type < 256; type++) {
            for (int len = 0; len <= 200; len++) {
                byte[] d = new byte[len + 3];
                d[3 % d.length] = (byte) type;
                Rejection expected;
                if (len == 0) {
                    expected = Rejection.EMPTY;
                } else if (type == 1) {
                    expected = len < 109 ? Rejection.TOO_SHORT : len > 109 ? Rejection.TOO_LONG : null;
                } else if (type == 3) {
                    expected = len < 93 ? Rejection.TOO_SHORT : len > 93 ? Rejection.TOO_LONG : null;
                } else if (type == 2) {
                    expected = Rejection.WRONG_DIRECTION;
                } else {
                    expected = Rejection.UNKNOWN_TYPE;
                }
                assertEquals(expected, Messages.checkToServer(d, 3, len), "type " + type + " length " + len);
            }
        }
    }

    @Test
    void clientSideValidationForEveryTypeAndLength() {
        for (int type = 0; type < 256; type++) {
            for (int len = 0; len <= 200; len++) {
                byte[] d = new byte[len];
                if (len > 0) {
                    d[0] = (byte) type;
                }
                Rejection expected;
                if (len == 0) {
                    expected = Rejection.EMPTY;
                } else if (type == 2) {
                    expected = len < 53 ? Rejection.TOO_SHORT : len > 53 ? Rejection.TOO_LONG : null;
                } else if (type == 3) {
                    if (len == 25 || len == 31) {
                        expected = null;
                    } else {
                        expected = len < 25 ? Rejection.TOO_SHORT : len > 31 ? Rejection.TOO_LONG : Rejection.WRONG_LENGTH;
                    }
                } else if (type == 1) {
                    expected = Rejection.WRONG_DIRECTION;
                } else {
                    expected = Rejection.UNKNOWN_TYPE;
                }
                assertEquals(expected, Messages.checkToClient(d, 0, len), "type " + type + " length " + len);
            }
        }
    }

    @Test
    void integersAreBigEndian() {
        byte[] b = new byte[8];
        Wire.writeLong(b, 0, 0x0102030405060708L);
        assertEquals("0102030405060708", java.util.HexFormat.of().formatHex(b));
        assertEquals(0x0102030405060708L, Wire.readLong(b, 0));
        Wire.writeInt(b, 0, 0xF0E0D0C0);
        assertEquals(0xF0E0D0C0, Wire.readInt(b, 0));
        Wire.writeShort(b, 0, 51820);
        assertEquals(51820, Wire.readUnsignedShort(b, 0));
    }
}
