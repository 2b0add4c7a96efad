package dev.natpunch.net;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Structure;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * IPv6: the kernel writes the IPv6 header and we write the UDP header. The UDP checksum, mandatory
 * over IPv6 (RFC 8200 8.1), is left to {@code IPV6_CHECKSUM} at offset 6: the kernel then sums the
 * pseudo-header with the source address it actually chose for each packet, and for UDP sends a
 * computed 0 as 0xFFFF. With the option set, the kernel also verifies the checksum of each
 * received datagram and drops a bad one before we read it.
 */
final class Ipv6RawFraming implements RawUdpFraming {

    static final int UDP_HEADER_LENGTH = 8;
    /** The UDP length field is 16 bits, and the IPv6 payload length too (no jumbograms). */
    static final int MAX_DATAGRAM_LENGTH = 0xFFFF;
    static final int MAX_PAYLOAD = MAX_DATAGRAM_LENGTH - UDP_HEADER_LENGTH;
    /** Where the checksum lies in the UDP header. */
    static final int CHECKSUM_OFFSET = 6;

    private final Inet6Address local;
    private final int localPort;
    private final Inet6Address server;
    private final byte[] serverBytes;
    private final int serverPort;
    private final LinuxLibc.SockaddrIn6 destination;

    Ipv6RawFraming(Inet6Address local, int localPort, Inet6Address server, int serverPort) {
        this.local = local;
        this.localPort = localPort;
        this.server = server;
        this.serverBytes = server.getAddress();
        this.serverPort = serverPort;
        // sin6_port on a raw IPv6 socket names the protocol (0: the socket's own); the UDP port
        // travels in our header. The scope id picks the link for a link-local server.
        this.destination = new LinuxLibc.SockaddrIn6(serverBytes, 0, server.getScopeId());
    }

    @Override
    public int domain() {
        return LinuxLibc.AF_INET6;
    }

    @Override
    public void configure(LinuxLibc libc, int fd) throws LastErrorException {
        Memory value = new Memory(4);
        value.setInt(0, CHECKSUM_OFFSET);
        libc.setsockopt(fd, LinuxLibc.IPPROTO_IPV6, LinuxLibc.IPV6_CHECKSUM, value, 4);
        // As with IPv4's DF: too large fails with EMSGSIZE instead of leaving in fragments, which
        // many NATs and firewalls drop.
        value.setInt(0, 1);
        libc.setsockopt(fd, LinuxLibc.IPPROTO_IPV6, LinuxLibc.IPV6_DONTFRAG, value, 4);
    }

    @Override
    public BpfProgram filter() {
        return BpfProgram.ipv6UdpFrom(server, serverPort, localPort);
    }

    @Override
    public int maxPayload() {
        return MAX_PAYLOAD;
    }

    @Override
    public int maxPacket() {
        return MAX_DATAGRAM_LENGTH;
    }

    @Override
    public void frame(ByteBuffer payload, ByteBuffer out) {
        int length = UDP_HEADER_LENGTH + payload.remaining();
        if (length > MAX_DATAGRAM_LENGTH) {
            throw new IllegalArgumentException("UDP payload of " + payload.remaining()
                    + " bytes exceeds the maximum of " + MAX_PAYLOAD + " bytes");
        }
        if (out.remaining() < length) {
            throw new java.nio.BufferOverflowException();
        }
        ByteBuffer header = out.duplicate().order(ByteOrder.BIG_ENDIAN);
        header.putShort((short) localPort).putShort((short) serverPort).putShort((short) length)
                .putShort((short) 0); // the kernel's IPV6_CHECKSUM fills it in
        out.position(out.position() + UDP_HEADER_LENGTH);
        out.put(payload);
    }

    @Override
    public Structure destination() {
        return destination;
    }

    @Override
    public InetAddress localAddress() {
        return local;
    }

    @Override
    public void unframe(ByteBuffer packet, ByteBuffer sender) throws MalformedPacketException {
        ByteBuffer sa = sender.duplicate().order(ByteOrder.nativeOrder());
        int s = sa.position();
        if (sa.remaining() < LinuxLibc.SockaddrIn6.SIZE || sa.getShort(s) != LinuxLibc.AF_INET6) {
            throw new MalformedPacketException("sender is not an IPv6 socket address");
        }
        for (int i = 0; i < 16; i++) {
            if (sa.get(s + LinuxLibc.SockaddrIn6.ADDRESS_OFFSET + i) != serverBytes[i]) {
                throw new MalformedPacketException("datagram from another address than the server's");
            }
        }
        int scope = sa.getInt(s + LinuxLibc.SockaddrIn6.SCOPE_ID_OFFSET);
        if (server.getScopeId() != 0 && scope != server.getScopeId()) {
            throw new MalformedPacketException("datagram from the server's link-local address on link "
                    + scope + ", not " + server.getScopeId());
        }
        int udp = packet.position();
        int available = packet.remaining();
        if (available < UDP_HEADER_LENGTH) {
            throw new MalformedPacketException("datagram of " + available + " bytes is shorter than a UDP header");
        }
        int sourcePort = getShort(packet, udp);
        int destinationPort = getShort(packet, udp + 2);
        if (sourcePort != serverPort || destinationPort != localPort) {
            throw new MalformedPacketException("datagram from port " + sourcePort + " to port "
                    + destinationPort + " is not for us");
        }
        int udpLength = getShort(packet, udp + 4);
        if (udpLength < UDP_HEADER_LENGTH || udpLength > available) {
            throw new MalformedPacketException("UDP length " + udpLength + " does not fit the "
                    + available + " bytes received");
        }
        packet.limit(udp + udpLength).position(udp + UDP_HEADER_LENGTH);
    }

    private static int getShort(ByteBuffer b, int index) {
        return ((b.get(index) & 0xFF) << 8) | (b.get(index + 1) & 0xFF);
    }
}
