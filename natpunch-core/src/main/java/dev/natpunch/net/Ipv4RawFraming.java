package dev.natpunch.net;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Structure;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** IPv4 with {@code IP_HDRINCL}: we write and read whole IPv4 packets. */
final class Ipv4RawFraming implements RawUdpFraming {

    private final Inet4Address local;
    private final int localPort;
    private final Inet4Address server;
    private final int serverPort;
    private final LinuxLibc.SockaddrIn destination;
    // RFC 6864: with DF set the ID is not used for reassembly; it only has to vary.
    private final AtomicInteger identification = new AtomicInteger(ThreadLocalRandom.current().nextInt());

    Ipv4RawFraming(Inet4Address local, int localPort, Inet4Address server, int serverPort) {
        this.local = local;
        this.localPort = localPort;
        this.server = server;
        this.serverPort = serverPort;
        // Linux ignores sin_port on raw sockets; the port travels in our own UDP header.
        this.destination = new LinuxLibc.SockaddrIn(server.getAddress(), 0);
    }

    @Override
    public int domain() {
        return LinuxLibc.AF_INET;
    }

    @Override
    public void configure(LinuxLibc libc, int fd) throws LastErrorException {
        Memory one = new Memory(4);
        one.setInt(0, 1);
        libc.setsockopt(fd, LinuxLibc.IPPROTO_IP, LinuxLibc.IP_HDRINCL, one, 4);
    }

    @Override
    public BpfProgram filter() {
        return BpfProgram.ipv4UdpFrom(server, serverPort, localPort);
    }

    @Override
    public int maxPayload() {
        return Ipv4Udp.MAX_PAYLOAD;
    }

    @Override
    public int maxPacket() {
        return Ipv4Udp.MAX_PACKET_LENGTH;
    }

    @Override
    public void frame(ByteBuffer payload, ByteBuffer out) {
        // DF: the kernel does not fragment IP_HDRINCL packets anyway (it answers EMSGSIZE), and a
        // rendezvous message that needs fragments would only be lost at some NAT.
        Ipv4Udp.encode(out, local, localPort, server, serverPort, identification.getAndIncrement(), true,
                Ipv4Udp.DEFAULT_TTL, payload);
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
        // The IP header we read carries the source address; sender says nothing more.
        Ipv4Udp.Datagram d = Ipv4Udp.decode(packet);
        if (!d.source().equals(server) || d.sourcePort() != serverPort || d.destinationPort() != localPort) {
            throw new MalformedPacketException("datagram from " + d.source().getHostAddress() + ":"
                    + d.sourcePort() + " to port " + d.destinationPort() + " is not for us");
        }
        int start = packet.position() + d.payloadOffset();
        packet.limit(start + d.payloadLength()).position(start);
    }
}
