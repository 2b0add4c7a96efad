package dev.natpunch.cli;

import java.net.Inet6Address;
import java.net.InetSocketAddress;

/** HOST:PORT arguments, with IPv6 literals in brackets as WireGuard writes endpoints. */
final class HostPort {
    private HostPort() {
    }

    /** Parses without resolving the name: resolution happens (again) on every connection. */
    static InetSocketAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new Errors.UsageException("'" + text + "' is not HOST:PORT (e.g."
                    + " demo.example.net:12345, 198.51.100.7:12345 or [2001:db8::1]:12345)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new Errors.UsageException("write an IPv6 server address in brackets: [" + host
                    + "]:" + text.substring(colon + 1));
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new Errors.UsageException("'" + text.substring(colon + 1) + "' is not a port number");
        }
        if (port < 1 || port > 65535) {
            throw new Errors.UsageException("port must be 1 to 65535, not " + port);
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    static String format(InetSocketAddress address) {
        String host = address.getAddress() != null ? address.getAddress().getHostAddress()
                : address.getHostString();
        if (address.getAddress() instanceof Inet6Address) {
            host = "[" + host + "]";
        }
        return host + ":" + address.getPort();
    }
}
