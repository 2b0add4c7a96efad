package dev.natpunch.server;

import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Where a client was last seen. The IPv4 address is kept as an int so that answering a version 1
 * lookup needs no {@code InetAddress.getAddress()} copy, and the version 2 wire form (a
 * server-reflexive endpoint, 19 bytes) is encoded once so that results and pushes only copy it.
 */
final class Endpoint {
    final InetSocketAddress address;
    final boolean ipv4;
    final int ip;
    final int port;
    /** The 19-byte version 2 form, kind server-reflexive; never written to after construction. */
    final byte[] wire = new byte[WireEndpoint.LENGTH];

    private Endpoint(InetSocketAddress address, boolean ipv4, int ip) {
        this.address = address;
        this.ipv4 = ipv4;
        this.ip = ip;
        this.port = address.getPort();
        int kind = WireEndpoint.Kind.SERVER_REFLEXIVE.code();
        if (ipv4) {
            WireEndpoint.writeIpv4(wire, 0, kind, ip, port);
        } else {
            WireEndpoint.writeIpv6(wire, 0, kind, address.getAddress().getAddress(), 0, port);
        }
    }

    /** Builds an endpoint, turning an IPv4-mapped IPv6 source (::ffff:a.b.c.d) into plain IPv4. */
    static Endpoint of(InetSocketAddress source) {
        InetAddress a = source.getAddress();
        if (a instanceof Inet6Address) {
            byte[] b = a.getAddress();
            if (isIpv4Mapped(b)) {
                try {
                    InetAddress v4 = InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                    return new Endpoint(new InetSocketAddress(v4, source.getPort()), true, ipv4Int(b, 12));
                } catch (UnknownHostException impossible) {
                    throw new AssertionError(impossible);
                }
            }
            return new Endpoint(source, false, 0);
        }
        if (a instanceof Inet4Address) {
            return new Endpoint(source, true, ipv4Int(a.getAddress(), 0));
        }
        return new Endpoint(source, false, 0);
    }

    /** Whether this endpoint is the one {@code source} would produce, without allocating. */
    boolean matches(InetSocketAddress source) {
        return source == address || source.equals(address);
    }

    private static boolean isIpv4Mapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    private static int ipv4Int(byte[] b, int off) {
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }
}
