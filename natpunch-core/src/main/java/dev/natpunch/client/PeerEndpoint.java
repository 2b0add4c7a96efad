package dev.natpunch.client;

import dev.natpunch.net.Endpoints;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One address at which a rendezvous server says a peer may be reached. Immutable.
 *
 * @param kind where the address comes from
 * @param address an IPv4 or IPv6 address and UDP port (never unresolved)
 */
public record PeerEndpoint(Kind kind, InetSocketAddress address) {

    /** Where a peer's endpoint comes from. */
    public enum Kind {
        /**
         * The public address and port the server saw the peer's datagrams come from: its NAT's
         * mapping of the peer's WireGuard port.
         */
        SERVER_REFLEXIVE,
        /** An address of one of the peer's own interfaces with its WireGuard port (reachable on a shared LAN). */
        LOCAL,
        /** A relay port allocated for this pair of peers (forwards WireGuard's ciphertext unchanged). */
        RELAY
    }

    public PeerEndpoint {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(address, "address");
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("a peer endpoint has an IP address, not a name: " + address);
        }
    }

    /** Whether the address is IPv4. */
    public boolean isIpv4() {
        return address.getAddress() instanceof Inet4Address;
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + " " + Endpoints.format(address);
    }
}
