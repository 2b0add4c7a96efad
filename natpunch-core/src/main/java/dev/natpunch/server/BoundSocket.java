package dev.natpunch.server;

import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * One of the server's UDP sockets as the packet handler sees it: its slot (the index the socket
 * layer sends from), its role and its place in a probing group (protocol-v2.md 6.6). A group is a
 * primary socket A1:P1 and the probe sockets that belong to it: A1:P2 (alternate port), A2:P1
 * (alternate address) and A2:P2 (both). Only primary sockets carry the rendezvous protocol.
 *
 * @param slot the socket's index in the server's socket list
 * @param group the slot of the group's primary socket
 * @param kind {@code SERVER_PRIMARY}, {@code SERVER_ALT_PORT}, {@code SERVER_ALT_ADDRESS} or {@code SERVER_ALT_BOTH}
 * @param local the bound address
 * @param advertised what INFO and PROBE_RESULT say: the bound address, or for a wildcard socket
 *     the host's addresses of its families; may be empty
 */
record BoundSocket(int slot, int group, WireEndpoint.Kind kind, InetSocketAddress local, List<WireEndpoint> advertised) {
    BoundSocket {
        advertised = List.copyOf(advertised);
    }

    /** The advertised endpoint of {@code source}'s family, or the first one, or null. */
    WireEndpoint originFor(InetSocketAddress source) {
        int family = source.getAddress() instanceof java.net.Inet4Address ? WireEndpoint.FAMILY_IPV4 : WireEndpoint.FAMILY_IPV6;
        for (WireEndpoint e : advertised) {
            if (e.family() == family) {
                return e;
            }
        }
        return advertised.isEmpty() ? null : advertised.get(0);
    }

    boolean primary() {
        return kind == WireEndpoint.Kind.SERVER_PRIMARY;
    }

    /** 0 to 3: bit 0 set for the alternate port, bit 1 for the alternate address. */
    int probeBits() {
        return kind.code() - WireEndpoint.Kind.SERVER_PRIMARY.code();
    }
}
