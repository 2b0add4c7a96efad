package dev.natpunch.net;

import java.io.IOException;
import java.net.InetSocketAddress;

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
     * keeps it. Needs root or CAP_NET_RAW, Linux only.
     */
    static TransportFactory raw() {
        return RawUdpTransport::open;
    }
}
