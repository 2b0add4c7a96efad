package dev.natpunch.server;

import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Where a client was last seen. An IPv4 endpoint, which every registration has, is stored packed
 * into one long ({@link #pack4}: one volatile read gives address and port together, and it takes
 * no object); an IPv6 one is an object that keeps the version 2 wire form (a server-reflexive
 * endpoint, 19 bytes) encoded once, so that results and pushes only copy it.
 */
final class Endpoint {
    /** Marks a packed IPv4 endpoint, so that 0 can mean "none" (0.0.0.0:0 is never a source). */
    private static final long PACKED = 1L << 48;

    final InetSocketAddress address;
    /** The 19-byte version 2 form, kind server-reflexive; never written to after construction. */
    final byte[] wire = new byte[WireEndpoint.LENGTH];

    private Endpoint(InetSocketAddress address, boolean ipv4, int ip) {
        this.address = address;
        int kind = WireEndpoint.Kind.SERVER_REFLEXIVE.code();
        if (ipv4) {
            WireEndpoint.writeIpv4(wire, 0, kind, ip, address.getPort());
        } else {
            WireEndpoint.writeIpv6(wire, 0, kind, address.getAddress().getAddress(), 0, address.getPort());
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

    /**
     * {@code source} as one long, {@code 1 << 48 | address << 16 | port}, when it is an IPv4
     * address (also an IPv4-mapped IPv6 one); 0 for IPv6. Allocation-free for IPv4 sources once
     * compiled (the address's 4-byte copy does not escape).
     */
    static long pack4(InetSocketAddress source) {
        InetAddress a = source.getAddress();
        if (a instanceof Inet4Address) {
            return PACKED | (ipv4Int(a.getAddress(), 0) & 0xFFFF_FFFFL) << 16 | source.getPort();
        }
        if (a instanceof Inet6Address) {
            byte[] b = a.getAddress();
            if (isIpv4Mapped(b)) {
                return PACKED | (ipv4Int(b, 12) & 0xFFFF_FFFFL) << 16 | source.getPort();
            }
        }
        return 0;
    }

    static int ip4(long packed) {
        return (int) (packed >>> 16);
    }

    static int port4(long packed) {
        return (int) (packed & 0xFFFF);
    }

    /** The socket address of a packed IPv4 endpoint (allocates; for listeners). */
    static InetSocketAddress address4(long packed) {
        int ip = ip4(packed);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(
                    new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip}), port4(packed));
        } catch (UnknownHostException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Writes a packed IPv4 endpoint's 19-byte wire form, kind server-reflexive, at {@code a[at..]}. */
    static void writeWire4(long packed, byte[] a, int at) {
        WireEndpoint.writeIpv4(a, at, WireEndpoint.Kind.SERVER_REFLEXIVE.code(), ip4(packed), port4(packed));
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
