package dev.natpunch.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Address-family helpers for rendezvous endpoints: splitting a server name into one address per
 * family and printing endpoints the way people write them. A client that wants the server's view
 * of both its IPv4 and its IPv6 side opens one transport per family:
 *
 * <pre>{@code
 * for (var e : Endpoints.resolvePerFamily("rendezvous.example.org", 3478).entrySet()) {
 *     DatagramTransport t = TransportFactory.raw(e.getKey()).open(e.getValue(), wgListenPort);
 *     ...
 * }
 * }</pre>
 */
public final class Endpoints {

    private Endpoints() {}

    /** The family of {@code address}: {@code INET} or {@code INET6}. */
    public static StandardProtocolFamily family(InetAddress address) {
        Objects.requireNonNull(address, "address");
        return address instanceof Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
    }

    /** Whether {@code address} is an IPv4 address in IPv6 clothing ({@code ::ffff:a.b.c.d}). */
    static boolean isIpv4Mapped(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return false;
        }
        byte[] b = address.getAddress();
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
    }

    /**
     * Resolves {@code host} and keeps the first address of each family, in the resolver's order
     * (so the first entry is the one the system prefers). A literal address gives one entry.
     *
     * @throws UnknownHostException if the name has no address
     */
    public static Map<StandardProtocolFamily, InetSocketAddress> resolvePerFamily(String host, int port)
            throws UnknownHostException {
        Objects.requireNonNull(host, "host");
        if (port < 1 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        Map<StandardProtocolFamily, InetSocketAddress> out = new LinkedHashMap<>();
        for (InetAddress a : InetAddress.getAllByName(host)) {
            out.putIfAbsent(family(a), new InetSocketAddress(a, port));
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * {@code "198.51.100.7:3478"}, {@code "[2001:db8::7]:3478"} or {@code "[::]:3478"}: the
     * address in its RFC 5952 text form (IPv6 zero runs compressed, which
     * {@link InetAddress#getHostAddress()} does not do), no host name, no leading slash.
     * An unresolved address prints as {@code host:port}.
     */
    public static String format(InetSocketAddress endpoint) {
        Objects.requireNonNull(endpoint, "endpoint");
        InetAddress a = endpoint.getAddress();
        if (a == null) {
            return endpoint.getHostString() + ":" + endpoint.getPort();
        }
        return (a instanceof Inet4Address ? a.getHostAddress() : "[" + format(a) + "]") + ":" + endpoint.getPort();
    }

    /** The RFC 5952 text form of {@code address}, with {@code %scope} where it has one. */
    public static String format(InetAddress address) {
        Objects.requireNonNull(address, "address");
        if (!(address instanceof Inet6Address v6)) {
            return address.getHostAddress();
        }
        byte[] b = v6.getAddress();
        if (isIpv4Mapped(v6)) {
            // RFC 5952 5: the mapped IPv4 address in dotted form.
            return "::ffff:" + (b[12] & 0xFF) + "." + (b[13] & 0xFF) + "." + (b[14] & 0xFF) + "." + (b[15] & 0xFF);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xFF) << 8) | (b[2 * i + 1] & 0xFF);
        }
        // RFC 5952 4.2: compress the longest run of two or more zero groups, the first on a tie.
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder s = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLength - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(groups[i]));
        }
        String host = v6.getHostAddress();
        int percent = host.indexOf('%');
        if (percent >= 0) {
            s.append(host, percent, host.length());
        }
        return s.toString();
    }
}
