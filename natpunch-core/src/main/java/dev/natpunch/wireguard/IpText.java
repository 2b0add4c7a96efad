package dev.natpunch.wireguard;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * IP literals and endpoints as WireGuard writes them ({@code 1.2.3.4:51820}, {@code [fd00::1]:51820}).
 * Parsing never touches DNS, because a value read from a device must not trigger a lookup.
 */
final class IpText {
    private IpText() {}

    static InetAddress parse(String text) {
        try {
            if (text.indexOf(':') >= 0) {
                // A colon makes InetAddress treat the text as an IPv6 literal, never as a host name.
                if (text.indexOf('%') >= 0) {
                    throw new IllegalArgumentException("scoped IPv6 addresses are not supported: '" + text + "'");
                }
                // InetAddress would hand e.g. "zz::1" to the resolver; only literal characters get through.
                if (!text.chars().allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
                    throw new IllegalArgumentException("not an IP address: '" + text + "'");
                }
                return InetAddress.getByName(text);
            }
            String[] parts = text.split("\\.", -1);
            if (parts.length != 4) {
                throw new IllegalArgumentException("not an IP address: '" + text + "'");
            }
            byte[] bytes = new byte[4];
            for (int i = 0; i < 4; i++) {
                String p = parts[i];
                if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    throw new IllegalArgumentException("not an IP address: '" + text + "'");
                }
                int v = Integer.parseInt(p);
                if (v > 255) {
                    throw new IllegalArgumentException("not an IP address: '" + text + "'");
                }
                bytes[i] = (byte) v;
            }
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: '" + text + "'", e);
        }
    }

    /** Dotted quad, or RFC 5952 compressed IPv6 (lowercase, longest zero run as {@code ::}). */
    static String format(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        byte[] b = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    static InetSocketAddress parseEndpoint(String text) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) {
                throw new IllegalArgumentException("not an endpoint: '" + text + "' (expected [IPv6]:port)");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) {
                throw new IllegalArgumentException("not an endpoint: '" + text + "' (expected IPv4:port or [IPv6]:port)");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("not an endpoint: bad port in '" + text + "'");
        }
        int p = Integer.parseInt(port);
        if (p > 65535) {
            throw new IllegalArgumentException("not an endpoint: port out of range in '" + text + "'");
        }
        return new InetSocketAddress(parse(host), p);
    }

    static String formatEndpoint(InetSocketAddress endpoint) {
        InetAddress a = endpoint.getAddress();
        String host = format(a);
        return (a instanceof Inet6Address ? "[" + host + "]" : host) + ":" + endpoint.getPort();
    }
}
