package dev.natpunch.client;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This machine's LAN addresses with WireGuard's port: where a peer behind the same NAT can reach
 * WireGuard directly when the router does not hairpin.
 */
final class LocalCandidates {
    private static final Logger LOG = LoggerFactory.getLogger(PeerResolver.class);
    /** What a registration carries at most (protocol-v2.md 6.4). */
    static final int MAX = 8;

    private LocalCandidates() {
    }

    /**
     * The addresses of every interface that is up, except loopback, the WireGuard interface itself
     * (its addresses are inside the tunnel) and addresses that mean nothing off their link
     * (link-local) or to anyone (multicast, unspecified); IPv4 first.
     */
    static List<InetSocketAddress> of(String wireguardInterface, int port) {
        List<InetAddress> found = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp() || nif.isLoopback() || nif.getName().equals(wireguardInterface)) {
                    continue;
                }
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (usable(a)) {
                        found.add(a);
                    }
                }
            }
        } catch (SocketException e) {
            LOG.debug("cannot list this machine's addresses: {}", e.getMessage());
            return List.of();
        }
        found.sort(Comparator.comparing(a -> a instanceof Inet4Address ? 0 : 1));
        List<InetSocketAddress> out = new ArrayList<>();
        for (InetAddress a : found) {
            if (out.size() == MAX) {
                break;
            }
            out.add(new InetSocketAddress(stripScope(a), port));
        }
        return out;
    }

    /**
     * Whether an address lies in one of the subnets this machine's interfaces are on now (other
     * than the WireGuard interface), i.e. a LAN candidate we can probably reach directly. The
     * interfaces are read once, when this is called.
     */
    static java.util.function.Predicate<InetAddress> onOurLinks(String wireguardInterface) {
        List<java.net.InterfaceAddress> ours = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp() || nif.isLoopback() || nif.getName().equals(wireguardInterface)) {
                    continue;
                }
                for (java.net.InterfaceAddress ia : nif.getInterfaceAddresses()) {
                    if (usable(ia.getAddress())) {
                        ours.add(ia);
                    }
                }
            }
        } catch (SocketException e) {
            LOG.debug("cannot list this machine's addresses: {}", e.getMessage());
        }
        return address -> ours.stream()
                .anyMatch(ia -> samePrefix(ia.getAddress(), address, ia.getNetworkPrefixLength()));
    }

    static boolean samePrefix(InetAddress a, InetAddress b, int bits) {
        byte[] x = a.getAddress();
        byte[] y = b.getAddress();
        if (x.length != y.length || bits < 0 || bits > x.length * 8) {
            return false;
        }
        for (int i = 0; i < bits; i++) {
            int mask = 0x80 >>> (i % 8);
            if ((x[i / 8] & mask) != (y[i / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    static boolean usable(InetAddress a) {
        return !a.isLoopbackAddress() && !a.isLinkLocalAddress() && !a.isMulticastAddress()
                && !a.isAnyLocalAddress();
    }

    private static InetAddress stripScope(InetAddress a) {
        try {
            return InetAddress.getByAddress(a.getAddress());
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("a 4- or 16-byte address is always valid", e);
        }
    }
}
