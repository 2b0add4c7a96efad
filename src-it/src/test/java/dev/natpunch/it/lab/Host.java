package dev.natpunch.it.lab;

import java.net.InetAddress;
import java.util.Optional;

/**
 * A host with one interface {@code eth0}: either on the lab internet with a public address, or
 * on a router's LAN with a private address and that router as its default gateway.
 */
public final class Host implements Node {
    private final String name;
    private final String namespace;
    private final InetAddress address;
    private final Router router;

    Host(String name, String namespace, InetAddress address, Router router) {
        this.name = name;
        this.namespace = namespace;
        this.address = address;
        this.router = router;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String namespace() {
        return namespace;
    }

    /** The address of {@code eth0}: public (198.18.0.0/24) or private (100.64.N.0/24). */
    public InetAddress address() {
        return address;
    }

    /** The NAT router this host sits behind, or empty for a host on the internet. */
    public Optional<Router> router() {
        return Optional.ofNullable(router);
    }

    @Override
    public String toString() {
        return name + "(" + address.getHostAddress() + ")";
    }
}
