package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;

/**
 * Fuzz target for the IPv4/UDP decoder of the raw-socket client, which reads whatever the kernel
 * hands a raw socket. Invariants: only MalformedPacketException; a decoded payload lies inside
 * the packet; and the packet re-encoded from what was decoded decodes to the same fields.
 */
class Ipv4UdpFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void decode(byte[] packet) throws MalformedPacketException {
        Ipv4Udp.Datagram d;
        try {
            d = Ipv4Udp.decode(ByteBuffer.wrap(packet));
        } catch (MalformedPacketException e) {
            return;
        }
        assertTrue(d.payloadOffset() >= 28 && d.payloadLength() >= 0
                && d.payloadOffset() + d.payloadLength() <= packet.length, d.toString());
        ByteBuffer again = ByteBuffer.allocate(Ipv4Udp.MAX_PACKET_LENGTH);
        Ipv4Udp.encode(again, d.source(), d.sourcePort(), d.destination(), d.destinationPort(), 1, true,
                Ipv4Udp.DEFAULT_TTL, ByteBuffer.wrap(packet, d.payloadOffset(), d.payloadLength()));
        again.flip();
        Ipv4Udp.Datagram d2 = Ipv4Udp.decode(again);
        assertEquals(d.source(), d2.source());
        assertEquals(d.sourcePort(), d2.sourcePort());
        assertEquals(d.destination(), d2.destination());
        assertEquals(d.destinationPort(), d2.destinationPort());
        assertEquals(d.payloadLength(), d2.payloadLength());
    }
}
