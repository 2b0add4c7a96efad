package dev.natpunch.it.lab;

import java.net.InetAddress;
import java.util.Optional;

/**
 * A host with one interface {@code eth0}: either on the lab internet with public addresses, or
 * on a router's LAN with a private IPv4 address and that router as its default gateway (and, if
 * the router routes IPv6 to its LAN, an IPv6 address of the LAN prefix). Its addresses and router
 * change only when the lab moves it ({@link Lab#moveHost}).
 */
public final class Host implements Node {
    private final String name;
    private final String namespace;
    /** Replaced as a whole when the host moves, so that readers never see half a move. */
    private volatile Placement placement;

    private record Placement(InetAddress address4, InetAddress address6, Router router) {
    }

    Host(String name, String namespace, InetAddress address4, InetAddress address6, Router router) {
        this.name = name;
        this.namespace = namespace;
        place(address4, address6, router);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String namespace() {
        return namespace;
    }

    /**
     * The IPv4 address of {@code eth0}, public (198.18.0.0/24) or private (100.64.N.0/24), or the
     * IPv6 address on an IPv6-only host.
     */
    public InetAddress address() {
        Placement p = placement;
        return p.address4 != null ? p.address4 : p.address6;
    }

    /** The IPv4 address of {@code eth0}, empty on an IPv6-only host. */
    public Optional<InetAddress> address4() {
        return Optional.ofNullable(placement.address4);
    }

    /**
     * The IPv6 address of {@code eth0} (fd18:ID::X on the internet, fd64:ID:N::X on a LAN),
     * empty without IPv6. It is reachable from the internet as far as the router's firewall allows.
     */
    public Optional<InetAddress> address6() {
        return Optional.ofNullable(placement.address6);
    }

    /** The router this host sits behind, or empty for a host on the internet. */
    public Optional<Router> router() {
        return Optional.ofNullable(placement.router);
    }

    void place(InetAddress address4, InetAddress address6, Router router) {
        if (address4 == null && address6 == null) {
            throw new IllegalArgumentException(name + " needs an address");
        }
        this.placement = new Placement(address4, address6, router);
    }

    @Override
    public String toString() {
        Placement p = placement;
        InetAddress a4 = p.address4;
        InetAddress a6 = p.address6;
        return name + "(" + (a4 != null ? a4.getHostAddress() : "")
                + (a4 != null && a6 != null ? ", " : "") + (a6 != null ? a6.getHostAddress() : "") + ")";
    }
}
