package dev.natpunch.net;

import java.net.Inet6Address;
import java.nio.ByteBuffer;

/**
 * The UDP-over-IPv6 checksum (RFC 8200 8.1), computed independently of the kernel so tests can
 * check what the kernel put on the wire.
 */
final class Ipv6Checksums {

    private Ipv6Checksums() {}

    /** The checksum {@code datagram} (its remaining bytes, checksum field ignored) should carry. */
    static int compute(Inet6Address source, Inet6Address destination, ByteBuffer datagram) {
        ByteBuffer d = copy(datagram);
        d.putShort(6, (short) 0);
        int c = ~Ipv4Udp.sum(d, 0, d.remaining(), pseudoHeaderSum(source, destination, d.remaining())) & 0xFFFF;
        return c == 0 ? 0xFFFF : c;
    }

    /** The ones' complement sum over pseudo-header and datagram, checksum included, is all ones. */
    static boolean isValid(Inet6Address source, Inet6Address destination, ByteBuffer datagram) {
        ByteBuffer d = copy(datagram);
        return (d.getShort(6) & 0xFFFF) != 0
                && Ipv4Udp.sum(d, 0, d.remaining(), pseudoHeaderSum(source, destination, d.remaining())) == 0xFFFF;
    }

    /** The folded sum of the IPv6 pseudo-header: addresses, 32-bit length, next header 17. */
    static int pseudoHeaderSum(Inet6Address source, Inet6Address destination, int udpLength) {
        ByteBuffer p = ByteBuffer.allocate(40);
        p.put(source.getAddress()).put(destination.getAddress()).putInt(udpLength).putInt(Ipv4Udp.PROTOCOL_UDP);
        return Ipv4Udp.sum(p, 0, 40, 0);
    }

    private static ByteBuffer copy(ByteBuffer datagram) {
        ByteBuffer d = ByteBuffer.allocate(datagram.remaining());
        d.put(datagram.duplicate()).flip();
        return d;
    }
}
