package dev.natpunch.net;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Objects;

/**
 * A {@link DatagramTransport} over an ordinary UDP socket, connected to the server so that only the
 * server's datagrams are received. Needs no privileges, but unlike the raw-socket transport its
 * datagrams do not leave from WireGuard's port (unless that port is free and given here), so the
 * NAT mapping the server learns is this socket's own: use it for tests, for servers reachable
 * without NAT, or when WireGuard is not running on the port.
 *
 * <p>Thread-safe: sends and receives may happen on different threads.
 */
public final class UdpTransport implements DatagramTransport {
    private final InetSocketAddress server;
    private final DatagramChannel channel;
    private final byte[] receiveBuffer = new byte[65536];
    private final DatagramPacket packet = new DatagramPacket(receiveBuffer, receiveBuffer.length);

    private UdpTransport(InetSocketAddress server, DatagramChannel channel) {
        this.server = server;
        this.channel = channel;
    }

    /** A transport from an ephemeral local port to {@code server}. */
    public static UdpTransport open(InetSocketAddress server) throws IOException {
        return open(server, 0);
    }

    /**
     * A transport from local UDP port {@code localPort} (0: any free port) to {@code server}.
     *
     * @throws IOException if the port is taken or the server address cannot be used
     */
    public static UdpTransport open(InetSocketAddress server, int localPort) throws IOException {
        Objects.requireNonNull(server, "server");
        if (server.isUnresolved()) {
            throw new IOException("cannot resolve the rendezvous server's host name " + server.getHostString());
        }
        if (localPort < 0 || localPort > 65535) {
            throw new IllegalArgumentException("UDP port must be 0..65535, got " + localPort);
        }
        DatagramChannel ch = server.getAddress() instanceof Inet4Address
                ? DatagramChannel.open(StandardProtocolFamily.INET)
                : DatagramChannel.open();
        try {
            ch.bind(new InetSocketAddress(localPort));
            ch.connect(server);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new UdpTransport(server, ch);
    }

    /** The local address and port datagrams leave from. */
    public InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    @Override
    public InetSocketAddress server() {
        return server;
    }

    @Override
    public void send(ByteBuffer datagram) throws IOException {
        channel.write(datagram);
    }

    @Override
    public int receive(ByteBuffer dst, Duration timeout) throws IOException {
        // SO_TIMEOUT 0 would mean "wait forever", so the shortest wait is one millisecond.
        long millis = Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        synchronized (packet) {
            channel.socket().setSoTimeout((int) millis);
            packet.setData(receiveBuffer);
            try {
                channel.socket().receive(packet);
            } catch (SocketTimeoutException e) {
                return -1;
            }
            int n = Math.min(packet.getLength(), dst.remaining());
            dst.put(receiveBuffer, 0, n);
            return n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
