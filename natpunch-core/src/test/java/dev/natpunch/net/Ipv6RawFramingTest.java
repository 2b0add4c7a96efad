package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Ipv6RawFramingTest {

    private static final Inet6Address LOCAL = addr6("2001:db8::1");
    private static final Inet6Address SERVER = addr6("2001:db8::7");
    private static final int LOCAL_PORT = 51820;
    private static final int SERVER_PORT = 12345;

    private final Ipv6RawFraming framing = new Ipv6RawFraming(LOCAL, LOCAL_PORT, SERVER, SERVER_PORT);

    /*
     * 2001:db8::1 port 51820 -> 2001:db8::7 port 12345, payload "hi".
     * Pseudo-header: 2001 0DB8 0001 + 2001 0DB8 0007 + 0000 000A + 0000 0011 = 5B95
     * UDP: CA6C 3039 000A 0000 6869 = 16318 -> fold 6319; 5B95 + 6319 = BEAE -> checksum 4151
     */
    private static final byte[] HI_DATAGRAM = {
        (byte) 0xCA, 0x6C, 0x30, 0x39, 0x00, 0x0A, 0x41, 0x51, 0x68, 0x69,
    };

    @Test
    void framesOnlyTheUdpHeaderWithAnEmptyChecksumForTheKernel() {
        ByteBuffer out = ByteBuffer.allocate(64);
        out.position(3);
        ByteBuffer payload = ByteBuffer.wrap("hi".getBytes(StandardCharsets.US_ASCII));
        framing.frame(payload, out);
        assertEquals(13, out.position());
        assertEquals(0, payload.remaining());
        byte[] expected = HI_DATAGRAM.clone();
        expected[6] = 0;
        expected[7] = 0;
        assertArrayEquals(expected, Arrays.copyOfRange(out.array(), 3, 13));
    }

    @Test
    void frameRefusesWhatDoesNotFit() {
        assertThrows(IllegalArgumentException.class,
                () -> framing.frame(ByteBuffer.allocate(Ipv6RawFraming.MAX_PAYLOAD + 1), ByteBuffer.allocate(1 << 17)));
        assertThrows(java.nio.BufferOverflowException.class,
                () -> framing.frame(ByteBuffer.allocate(10), ByteBuffer.allocate(17)));
        ByteBuffer largest = ByteBuffer.allocate(Ipv6RawFraming.MAX_PAYLOAD);
        ByteBuffer out = ByteBuffer.allocate(framing.maxPacket());
        framing.frame(largest, out);
        assertEquals(0xFFFF, out.position());
        assertEquals(0xFFFF, out.getShort(4) & 0xFFFF);
    }

    @Test
    void checksumHelperMatchesTheHandComputedVector() {
        ByteBuffer d = ByteBuffer.wrap(HI_DATAGRAM.clone());
        assertEquals(0x4151, Ipv6Checksums.compute(LOCAL, SERVER, d));
        assertEquals(true, Ipv6Checksums.isValid(LOCAL, SERVER, d));
        d.put(9, (byte) 0x68);
        assertEquals(false, Ipv6Checksums.isValid(LOCAL, SERVER, d));
    }

    @Test
    void unframeNarrowsToThePayload() throws Exception {
        ByteBuffer packet = answer(SERVER_PORT, LOCAL_PORT, "hello");
        framing.unframe(packet, sender(SERVER, 0));
        assertEquals("hello", StandardCharsets.UTF_8.decode(packet).toString());
    }

    @Test
    void unframeRefusesWhatIsNotFromTheServerToOurPort() {
        assertRefused(answer(SERVER_PORT + 1, LOCAL_PORT, "x"), sender(SERVER, 0), "from port 12346 to port 51820");
        assertRefused(answer(SERVER_PORT, LOCAL_PORT + 1, "x"), sender(SERVER, 0), "from port 12345 to port 51821");
        assertRefused(answer(SERVER_PORT, LOCAL_PORT, "x"), sender(addr6("2001:db8::8"), 0), "another address");
        ByteBuffer v4 = sender(SERVER, 0);
        v4.order(ByteOrder.nativeOrder()).putShort(0, (short) LinuxLibc.AF_INET);
        assertRefused(answer(SERVER_PORT, LOCAL_PORT, "x"), v4, "not an IPv6 socket address");
        assertRefused(answer(SERVER_PORT, LOCAL_PORT, "x"), sender(SERVER, 0).limit(16), "not an IPv6 socket address");
        assertRefused(ByteBuffer.wrap(new byte[7]), sender(SERVER, 0), "shorter than a UDP header");
        ByteBuffer longer = answer(SERVER_PORT, LOCAL_PORT, "x");
        longer.putShort(4, (short) 10);
        assertRefused(longer, sender(SERVER, 0), "UDP length 10 does not fit the 9 bytes");
        ByteBuffer shorter = answer(SERVER_PORT, LOCAL_PORT, "x");
        shorter.putShort(4, (short) 7);
        assertRefused(shorter, sender(SERVER, 0), "UDP length 7");
    }

    @Test
    void unframeHonoursTheUdpLengthOverTrailingBytes() throws Exception {
        ByteBuffer packet = ByteBuffer.allocate(12);
        packet.put(answer(SERVER_PORT, LOCAL_PORT, "ab")).clear();
        framing.unframe(packet, sender(SERVER, 0));
        assertEquals(2, packet.remaining());
    }

    @Test
    void aLinkLocalServerMustAnswerOnItsLink() throws Exception {
        Inet6Address linkLocal = Inet6Address.getByAddress(null, addr6("fe80::7").getAddress(), 3);
        Ipv6RawFraming scoped = new Ipv6RawFraming(addr6("fe80::1"), LOCAL_PORT, linkLocal, SERVER_PORT);
        ByteBuffer ok = answer(SERVER_PORT, LOCAL_PORT, "x");
        scoped.unframe(ok, sender(linkLocal, 3));
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> scoped.unframe(answer(SERVER_PORT, LOCAL_PORT, "x"), sender(linkLocal, 4)));
        assertEquals("datagram from the server's link-local address on link 4, not 3", e.getMessage());
        assertEquals(3, ((LinuxLibc.SockaddrIn6) scoped.destination()).sin6_scope_id);
    }

    private void assertRefused(ByteBuffer packet, ByteBuffer sender, String messagePart) {
        MalformedPacketException e = assertThrows(MalformedPacketException.class, () -> framing.unframe(packet, sender));
        if (!e.getMessage().contains(messagePart)) {
            throw new AssertionError("message '" + e.getMessage() + "' lacks '" + messagePart + "'");
        }
    }

    private static ByteBuffer answer(int sourcePort, int destinationPort, String payload) {
        byte[] p = payload.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + p.length);
        b.putShort((short) sourcePort).putShort((short) destinationPort).putShort((short) (8 + p.length))
                .putShort((short) 0x1234).put(p).flip();
        return b;
    }

    /** A {@code struct sockaddr_in6} as recvfrom fills it for a raw socket (port 0). */
    static ByteBuffer sender(Inet6Address address, int scopeId) {
        LinuxLibc.SockaddrIn6 sa = new LinuxLibc.SockaddrIn6(address.getAddress(), 0, scopeId);
        return ByteBuffer.wrap(sa.getPointer().getByteArray(0, sa.size()));
    }

    static Inet6Address addr6(String literal) {
        try {
            return (Inet6Address) InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
