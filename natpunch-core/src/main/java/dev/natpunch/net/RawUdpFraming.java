package dev.natpunch.net;

import com.sun.jna.LastErrorException;
import com.sun.jna.Structure;
import java.net.InetAddress;
import java.nio.ByteBuffer;

/**
 * What differs between address families on a raw UDP socket. IPv4 with {@code IP_HDRINCL} writes
 * and reads whole IP packets; an IPv6 raw socket writes and reads from the UDP header on (the
 * kernel builds the IPv6 header, {@code IPV6_CHECKSUM} fills the UDP checksum). The two differ in
 * the socket options, the filter's offsets and what {@link #frame} writes, not in the transport
 * around them.
 */
interface RawUdpFraming {

    /** The socket's address family, e.g. {@link LinuxLibc#AF_INET}. */
    int domain();

    /** Sets the family's socket options on a fresh raw socket. */
    void configure(LinuxLibc libc, int fd) throws LastErrorException;

    /** Accepts only datagrams from the server to our local port. */
    BpfProgram filter();

    /** The largest UDP payload a single datagram can carry. */
    int maxPayload();

    /** The largest buffer {@link #frame} needs and a read from the socket can return. */
    int maxPacket();

    /** Writes what is handed to {@code sendto} for one datagram carrying {@code payload}'s remaining bytes. */
    void frame(ByteBuffer payload, ByteBuffer out);

    /** The {@code sendto} destination. */
    Structure destination();

    /** The address our datagrams leave from. */
    InetAddress localAddress();

    /**
     * Checks that {@code packet} (its remaining bytes, as read from the socket) is a datagram from
     * the server to our port and narrows {@code packet} to its UDP payload. {@code sender} holds the
     * {@code struct sockaddr} that {@code recvfrom} reported, in native byte order; it is the only
     * source of the sender's address where the socket does not deliver the IP header.
     */
    void unframe(ByteBuffer packet, ByteBuffer sender) throws MalformedPacketException;
}
