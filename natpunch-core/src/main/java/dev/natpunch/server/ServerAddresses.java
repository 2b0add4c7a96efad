package dev.natpunch.server;

import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What INFO_RESULT lists (protocol-v2.md 6.5): the addresses clients can reach the server's
 * sockets at. A socket bound to one address lists it; a wildcard socket lists the host's
 * addresses of its families that mean something off the host (not loopback, not link-local),
 * or the loopback addresses on a host that has nothing else.
 */
final class ServerAddresses {
    private static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);

    private ServerAddresses() {
    }

    /** The endpoints of kind {@code kind} that a socket bound to {@code bound} is reachable at, at most 8. */
    static List<WireEndpoint> advertised(InetSocketAddress bound, WireEndpoint.Kind kind) {
        List<WireEndpoint> out = new ArrayList<>();
        InetAddress a = bound.getAddress();
        List<InetAddress> addresses = a.isAnyLocalAddress() ? hostAddresses(a instanceof Inet6Address) : List.of(a);
        for (InetAddress each : addresses) {
            WireEndpoint e = new WireEndpoint(kind, unmapped(each), bound.getPort());
            if (out.size() < V2Wire.MAX_SERVER_ENDPOINTS && !out.contains(e)) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * The host's IPv4 addresses, and its IPv6 ones too when {@code withIpv6} (a wildcard IPv6
     * socket is dual-stack): global and private ones first, loopback only when there are none.
     */
    private static List<InetAddress> hostAddresses(boolean withIpv6) {
        List<InetAddress> usable = new ArrayList<>();
        List<InetAddress> loopback = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (!(a instanceof Inet4Address) && !withIpv6) {
                        continue;
                    }
                    if (a.isLoopbackAddress()) {
                        loopback.add(a);
                    } else if (!a.isLinkLocalAddress() && !a.isMulticastAddress() && !a.isAnyLocalAddress()) {
                        usable.add(a);
                    }
                }
            }
        } catch (SocketException e) {
            log.warn("Cannot list the network interfaces ({}); INFO will list loopback only", e.getMessage());
        }
        List<InetAddress> chosen = usable.isEmpty() ? loopback : usable;
        // IPv4 first: most clients register that family first and want the other one second.
        chosen.sort((x, y) -> Boolean.compare(x instanceof Inet6Address, y instanceof Inet6Address));
        return chosen;
    }

    /** An address without its IPv6 scope, which the wire form cannot carry. */
    private static InetAddress unmapped(InetAddress a) {
        try {
            return InetAddress.getByAddress(a.getAddress());
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("a 4- or 16-byte address is always valid", e);
        }
    }
}
