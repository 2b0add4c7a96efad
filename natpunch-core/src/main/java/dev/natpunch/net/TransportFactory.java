package dev.natpunch.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.util.Objects;

/** Opens a client's {@link DatagramTransport} to a rendezvous server. */
@FunctionalInterface
public interface TransportFactory {

    /**
     * Opens a transport whose datagrams reach {@code server} from UDP port {@code localPort} (the
     * WireGuard listen port, so that the server sees WireGuard's own NAT mapping).
     */
    DatagramTransport open(InetSocketAddress server, int localPort) throws IOException;

    /**
     * The production transport: a raw socket that sends from WireGuard's port while WireGuard
     * keeps it, IPv4 or IPv6 as the server address is. Needs root or CAP_NET_RAW, Linux only.
     */
    static TransportFactory raw() {
        return RawUdpTransport::open;
    }

    /**
     * Like {@link #raw()}, but only for servers of {@code family}: a client that keeps one transport
     * per family (from {@link Endpoints#resolvePerFamily}) gets an {@link IOException} naming the
     * address family mismatch instead of a transport of the other family.
     *
     * @param family {@code INET} or {@code INET6}
     */
    static TransportFactory raw(StandardProtocolFamily family) {
        Objects.requireNonNull(family, "family");
        if (family != StandardProtocolFamily.INET && family != StandardProtocolFamily.INET6) {
            throw new IllegalArgumentException("address family must be INET or INET6, not " + family);
        }
        return (server, localPort) -> RawUdpTransport.open(server, localPort, family);
    }
}
