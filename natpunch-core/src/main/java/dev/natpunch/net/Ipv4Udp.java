package dev.natpunch.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * Builds and parses IPv4 packets that carry one UDP datagram, as written to and read from an
 * {@code IP_HDRINCL} raw socket. Pure Java, no I/O; all multi-byte fields are big-endian whatever
 * the buffer's byte order.
 */
final class Ipv4Udp {

    static final int IP_HEADER_LENGTH = 20;
    static final int UDP_HEADER_LENGTH = 8;
    static final int MAX_PACKET_LENGTH = 0xFFFF;
    static final int MAX_PAYLOAD = MAX_PACKET_LENGTH - IP_HEADER_LENGTH - UDP_HEADER_LENGTH;
    static final int PROTOCOL_UDP = 17;
    static final int DEFAULT_TTL = 64;

    private static final int FLAG_DONT_FRAGMENT = 0x4000;
    private static final int FLAG_MORE_FRAGMENTS = 0x2000;
    private static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    private Ipv4Udp() {}

    /** Header fields of a parsed packet and where its UDP payload lies in the parsed buffer. */
    record Datagram(Inet4Address source, int sourcePort, Inet4Address destination,
                    int destinationPort, int payloadOffset, int payloadLength) {}

    /**
     * Writes the IPv4 header, the UDP header and the payload's remaining bytes at {@code out}'s
     * position, advancing both buffers.
     *
     * @return the packet length
     * @throws IllegalArgumentException if the payload cannot fit in one IPv4 packet
     * @throws java.nio.BufferOverflowException if {@code out} is too small
     */
    static int encode(ByteBuffer out, Inet4Address source, int sourcePort, Inet4Address destination,
                      int destinationPort, int identification, boolean dontFragment, int ttl,
                      ByteBuffer payload) {
        checkPort(sourcePort);
        checkPort(destinationPort);
        if (ttl < 1 || ttl > 255) {
            throw new IllegalArgumentException("TTL out of range: " + ttl);
        }
        int payloadLength = payload.remaining();
        if (payloadLength > MAX_PAYLOAD) {
            throw new IllegalArgumentException("UDP payload of " + payloadLength
                    + " bytes exceeds the IPv4 maximum of " + MAX_PAYLOAD + " bytes");
        }
        int udpLength = UDP_HEADER_LENGTH + payloadLength;
        int totalLength = IP_HEADER_LENGTH + udpLength;
        if (out.remaining() < totalLength) {
            throw new java.nio.BufferOverflowException();
        }
        byte[] src = source.getAddress();
        byte[] dst = destination.getAddress();
        int ip = out.position();

        out.put(ip, (byte) 0x45); // version 4, IHL 5 words: we never send IP options
        out.put(ip + 1, (byte) 0); // DSCP/ECN
        putShort(out, ip + 2, totalLength);
        putShort(out, ip + 4, identification & 0xFFFF);
        putShort(out, ip + 6, dontFragment ? FLAG_DONT_FRAGMENT : 0);
        out.put(ip + 8, (byte) ttl);
        out.put(ip + 9, (byte) PROTOCOL_UDP);
        putShort(out, ip + 10, 0);
        for (int i = 0; i < 4; i++) {
            out.put(ip + 12 + i, src[i]);
            out.put(ip + 16 + i, dst[i]);
        }
        putShort(out, ip + 10, ~sum(out, ip, IP_HEADER_LENGTH, 0) & 0xFFFF);

        int udp = ip + IP_HEADER_LENGTH;
        putShort(out, udp, sourcePort);
        putShort(out, udp + 2, destinationPort);
        putShort(out, udp + 4, udpLength);
        putShort(out, udp + 6, 0);
        out.position(udp + UDP_HEADER_LENGTH);
        out.put(payload);
        int checksum = ~sum(out, udp, udpLength, pseudoHeaderSum(src, dst, udpLength)) & 0xFFFF;
        // RFC 768: a computed 0 is sent as all ones, because 0 on the wire means "no checksum".
        putShort(out, udp + 6, checksum == 0 ? 0xFFFF : checksum);
        return totalLength;
    }

    /**
     * Parses and validates a packet as read from a raw IPv4 socket: {@code packet}'s remaining
     * bytes, which must hold the whole packet. Does not move {@code packet}'s position.
     *
     * <p>A UDP checksum of 0 (none) is accepted. So is a checksum field that holds the bare
     * pseudo-header sum: that is what a packet generated on this host carries while its checksum
     * is left to NIC offload ({@code CHECKSUM_PARTIAL}), and a raw socket sees locally routed
     * packets (loopback, veth) before anyone has completed it.
     */
    static Datagram decode(ByteBuffer packet) throws MalformedPacketException {
        int ip = packet.position();
        int available = packet.remaining();
        if (available < IP_HEADER_LENGTH) {
            throw new MalformedPacketException("packet of " + available + " bytes is shorter than an IPv4 header");
        }
        int versionAndIhl = packet.get(ip) & 0xFF;
        if (versionAndIhl >>> 4 != 4) {
            throw new MalformedPacketException("IP version " + (versionAndIhl >>> 4) + ", expected 4");
        }
        int headerLength = (versionAndIhl & 0x0F) * 4;
        if (headerLength < IP_HEADER_LENGTH) {
            throw new MalformedPacketException("IPv4 header length " + headerLength + " < 20");
        }
        int totalLength = getShort(packet, ip + 2);
        if (totalLength < headerLength + UDP_HEADER_LENGTH || totalLength > available) {
            throw new MalformedPacketException("IPv4 total length " + totalLength + " does not fit header length "
                    + headerLength + " and " + available + " bytes received");
        }
        int fragment = getShort(packet, ip + 6);
        if ((fragment & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK)) != 0) {
            throw new MalformedPacketException("IPv4 fragment");
        }
        if ((packet.get(ip + 9) & 0xFF) != PROTOCOL_UDP) {
            throw new MalformedPacketException("IP protocol " + (packet.get(ip + 9) & 0xFF) + ", expected UDP");
        }
        // Linux hands raw sockets the header checksum as received; it has verified it already,
        // but a packet that fails here is certainly not ours.
        if ((~sum(packet, ip, headerLength, 0) & 0xFFFF) != 0) {
            throw new MalformedPacketException("bad IPv4 header checksum");
        }
        byte[] src = new byte[4];
        byte[] dst = new byte[4];
        for (int i = 0; i < 4; i++) {
            src[i] = packet.get(ip + 12 + i);
            dst[i] = packet.get(ip + 16 + i);
        }
        int udp = ip + headerLength;
        int udpLength = getShort(packet, udp + 4);
        if (udpLength < UDP_HEADER_LENGTH || udpLength > totalLength - headerLength) {
            throw new MalformedPacketException("UDP length " + udpLength + " does not fit IPv4 payload of "
                    + (totalLength - headerLength) + " bytes");
        }
        int checksum = getShort(packet, udp + 6);
        if (checksum != 0) {
            int pseudo = pseudoHeaderSum(src, dst, udpLength);
            if ((~sum(packet, udp, udpLength, pseudo) & 0xFFFF) != 0 && checksum != pseudo) {
                throw new MalformedPacketException("bad UDP checksum");
            }
        }
        return new Datagram(inet4(src), getShort(packet, udp), inet4(dst), getShort(packet, udp + 2),
                udp + UDP_HEADER_LENGTH - ip, udpLength - UDP_HEADER_LENGTH);
    }

    /**
     * The ones' complement sum (RFC 1071), folded to 16 bits but not complemented, of {@code length}
     * bytes at absolute index {@code offset}, added to {@code initial}. An odd last byte is padded
     * with a zero byte.
     */
    static int sum(ByteBuffer buffer, int offset, int length, int initial) {
        long acc = initial;
        int end = offset + length;
        int i = offset;
        for (; i + 1 < end; i += 2) {
            acc += ((buffer.get(i) & 0xFF) << 8) | (buffer.get(i + 1) & 0xFF);
        }
        if (i < end) {
            acc += (buffer.get(i) & 0xFF) << 8;
        }
        return fold(acc);
    }

    /** The folded, uncomplemented sum of the UDP pseudo-header (RFC 768). */
    static int pseudoHeaderSum(byte[] source, byte[] destination, int udpLength) {
        long acc = PROTOCOL_UDP + udpLength;
        for (int i = 0; i < 4; i += 2) {
            acc += ((source[i] & 0xFF) << 8) | (source[i + 1] & 0xFF);
            acc += ((destination[i] & 0xFF) << 8) | (destination[i + 1] & 0xFF);
        }
        return fold(acc);
    }

    private static int fold(long acc) {
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xFFFF) + (acc >>> 16);
        }
        return (int) acc;
    }

    private static void checkPort(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    private static void putShort(ByteBuffer b, int index, int value) {
        b.put(index, (byte) (value >>> 8));
        b.put(index + 1, (byte) value);
    }

    private static int getShort(ByteBuffer b, int index) {
        return ((b.get(index) & 0xFF) << 8) | (b.get(index + 1) & 0xFF);
    }

    private static Inet4Address inet4(byte[] address) {
        try {
            return (Inet4Address) InetAddress.getByAddress(address);
        } catch (UnknownHostException e) {
            throw new AssertionError("4-byte address rejected", e);
        }
    }
}
