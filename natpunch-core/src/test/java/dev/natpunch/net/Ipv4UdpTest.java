package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Ipv4UdpTest {

    private static final Inet4Address SRC = addr("192.0.2.1");
    private static final Inet4Address DST = addr("198.51.100.7");

    /*
     * 192.0.2.1:51820 -> 198.51.100.7:12345, id 0x1234, DF, TTL 64, payload "hi".
     * IP header words: 4500 001E 1234 4000 4011 0000 C000 0201 C633 6407
     *   sum = 2C39E -> fold C3A0 -> checksum ~C3A0 = 3C5F
     * Pseudo-header: C000 0201 C633 6407 0011 000A = 1EC56 (folded EC57)
     * UDP: CA6C 3039 000A 0000 6869; 1EC56 + FAAF + 6869 = 34F6E -> fold 4F71 -> checksum B08E
     */
    private static final byte[] HI_PACKET = {
        0x45, 0x00, 0x00, 0x1E, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x3C, 0x5F,
        (byte) 0xC0, 0x00, 0x02, 0x01, (byte) 0xC6, 0x33, 0x64, 0x07,
        (byte) 0xCA, 0x6C, 0x30, 0x39, 0x00, 0x0A, (byte) 0xB0, (byte) 0x8E,
        0x68, 0x69,
    };

    @Test
    void encodesHeadersAndChecksumsByteForByte() {
        ByteBuffer out = ByteBuffer.allocate(100);
        ByteBuffer payload = ByteBuffer.wrap("hi".getBytes(StandardCharsets.US_ASCII));
        int n = Ipv4Udp.encode(out, SRC, 51820, DST, 12345, 0x1234, true, 64, payload);
        assertEquals(30, n);
        assertEquals(30, out.position());
        assertEquals(0, payload.remaining());
        assertArrayEquals(HI_PACKET, java.util.Arrays.copyOf(out.array(), n));
    }

    @Test
    void encodesAtTheBuffersPositionWithoutDontFragment() {
        ByteBuffer out = ByteBuffer.allocate(64);
        out.position(7);
        Ipv4Udp.encode(out, SRC, 51820, DST, 12345, 0x1234, false, 64, ByteBuffer.wrap(new byte[] {0x68, 0x69}));
        byte[] expected = HI_PACKET.clone();
        expected[6] = 0x00;
        // Header checksum without the DF bit: 3C5F + 4000 (ones' complement arithmetic).
        expected[10] = 0x7C;
        expected[11] = 0x5F;
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(out.array(), 7, 37));
    }

    @Test
    void headerChecksumMatchesTheTextbookExample() {
        // The widely used example header 4500 0073 0000 4000 4011 B861 C0A8 0001 C0A8 00C7.
        byte[] h = hex("450000730000400040110000c0a80001c0a800c7");
        assertEquals(0xB861, ~Ipv4Udp.sum(ByteBuffer.wrap(h), 0, h.length, 0) & 0xFFFF);
        h[10] = (byte) 0xB8;
        h[11] = 0x61;
        assertEquals(0xFFFF, Ipv4Udp.sum(ByteBuffer.wrap(h), 0, h.length, 0));
    }

    @Test
    void computedZeroChecksumIsSentAsAllOnes() {
        // Payload word 18F8 brings the sum above (E707 without payload) to FFFF, i.e. checksum 0.
        ByteBuffer out = ByteBuffer.allocate(64);
        Ipv4Udp.encode(out, SRC, 51820, DST, 12345, 0x1234, true, 64,
                ByteBuffer.wrap(new byte[] {0x18, (byte) 0xF8}));
        assertEquals((byte) 0xFF, out.get(26));
        assertEquals((byte) 0xFF, out.get(27));
    }

    @Test
    void oddPayloadIsPaddedForTheChecksum() {
        assertEquals(0x6800, Ipv4Udp.sum(ByteBuffer.wrap(new byte[] {0x68}), 0, 1, 0));
        // End-around carry: 1 + FFFF + 0001 = 10001, folded 0002.
        assertEquals(0x0002, Ipv4Udp.sum(ByteBuffer.wrap(new byte[] {(byte) 0xFF, (byte) 0xFF, 0, 1}), 0, 4, 1));
    }

    @Test
    void decodesWhatItEncodes() throws Exception {
        Ipv4Udp.Datagram d = Ipv4Udp.decode(ByteBuffer.wrap(HI_PACKET));
        assertEquals(new Ipv4Udp.Datagram(SRC, 51820, DST, 12345, 28, 2), d);
    }

    @Test
    void decodeRespectsTheBuffersPositionAndIgnoresTrailingBytes() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(50);
        b.position(5);
        b.put(HI_PACKET).put(new byte[] {9, 9, 9});
        b.flip().position(5);
        Ipv4Udp.Datagram d = Ipv4Udp.decode(b);
        assertEquals(28, d.payloadOffset());
        assertEquals(2, d.payloadLength());
        assertEquals(5, b.position());
    }

    @Test
    void acceptsNoChecksumAndAnOffloadPendingChecksum() throws Exception {
        byte[] p = HI_PACKET.clone();
        p[26] = 0;
        p[27] = 0;
        assertEquals(2, Ipv4Udp.decode(ByteBuffer.wrap(p)).payloadLength());
        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, EC57.
        p[26] = (byte) 0xEC;
        p[27] = 0x57;
        assertEquals(2, Ipv4Udp.decode(ByteBuffer.wrap(p)).payloadLength());
    }

    @Test
    void decodesPastIpOptions() throws Exception {
        // IHL 6: one word of options (four NOPs). Total length 34; header checksum recomputed.
        ByteBuffer b = ByteBuffer.allocate(34);
        b.put(HI_PACKET, 0, 20).put(new byte[] {1, 1, 1, 1}).put(HI_PACKET, 20, 10);
        b.put(0, (byte) 0x46);
        b.put(3, (byte) 34);
        b.put(10, (byte) 0);
        b.put(11, (byte) 0);
        int c = ~Ipv4Udp.sum(b, 0, 24, 0) & 0xFFFF;
        b.put(10, (byte) (c >>> 8));
        b.put(11, (byte) c);
        b.clear();
        Ipv4Udp.Datagram d = Ipv4Udp.decode(b);
        assertEquals(51820, d.sourcePort());
        assertEquals(32, d.payloadOffset());
        assertEquals(2, d.payloadLength());
    }

    @Test
    void rejectsMalformedPackets() {
        assertRejected(java.util.Arrays.copyOf(HI_PACKET, 19), "shorter");
        assertRejected(with(HI_PACKET, 0, 0x65), "version");
        assertRejected(with(HI_PACKET, 0, 0x44), "header length");
        assertRejected(with(HI_PACKET, 3, 31), "total length");
        assertRejected(java.util.Arrays.copyOf(HI_PACKET, 29), "total length");
        assertRejected(with(HI_PACKET, 6, 0x60), "fragment"); // DF|MF
        assertRejected(with(HI_PACKET, 7, 0x01), "fragment"); // offset 1
        assertRejected(with(HI_PACKET, 8, 0x3F), "header checksum");
        assertRejected(with(HI_PACKET, 25, 0x0B), "UDP length");
        assertRejected(with(HI_PACKET, 25, 0x07), "UDP length");
        assertRejected(with(HI_PACKET, 29, 0x6A), "UDP checksum");
        assertRejected(with(HI_PACKET, 27, 0x8F), "UDP checksum");
    }

    @Test
    void rejectsNonUdp() {
        // Protocol 6 instead of 17: the header sum drops by 0x0B, so its complement, the checksum,
        // rises by 0x0B from 3C5F to 3C6A.
        byte[] p = with(HI_PACKET, 9, 6);
        p[11] = 0x6A;
        assertRejected(p, "protocol");
    }

    @Test
    void rejectsOversizePayloadsAndBadArguments() {
        ByteBuffer out = ByteBuffer.allocate(70_000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ipv4Udp.encode(
                out, SRC, 1, DST, 2, 0, true, 64, ByteBuffer.allocate(Ipv4Udp.MAX_PAYLOAD + 1)));
        assertEquals("UDP payload of 65508 bytes exceeds the IPv4 maximum of 65507 bytes", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Ipv4Udp.encode(out, SRC, 65536, DST, 2, 0, true, 64, ByteBuffer.allocate(1)));
        assertThrows(IllegalArgumentException.class,
                () -> Ipv4Udp.encode(out, SRC, 1, DST, 2, 0, true, 0, ByteBuffer.allocate(1)));
        assertThrows(java.nio.BufferOverflowException.class,
                () -> Ipv4Udp.encode(ByteBuffer.allocate(29), SRC, 1, DST, 2, 0, true, 64, ByteBuffer.allocate(2)));
        assertEquals(65535, Ipv4Udp.encode(out, SRC, 1, DST, 2, 0, true, 64,
                ByteBuffer.allocate(Ipv4Udp.MAX_PAYLOAD)));
    }

    private static void assertRejected(byte[] packet, String reason) {
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> Ipv4Udp.decode(ByteBuffer.wrap(packet)));
        if (!e.getMessage().contains(reason)) {
            throw new AssertionError("expected a reason containing '" + reason + "', got: " + e.getMessage());
        }
    }

    private static byte[] with(byte[] packet, int index, int value) {
        byte[] p = packet.clone();
        p[index] = (byte) value;
        return p;
    }

    static byte[] hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    static Inet4Address addr(String literal) {
        try {
            return (Inet4Address) InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
