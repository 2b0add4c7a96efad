package dev.natpunch.net;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * A client's datagram path to one rendezvous server. The real client uses a raw socket so that
 * its datagrams leave from WireGuard's own port; tests and unprivileged callers use an ordinary
 * UDP socket.
 */
public interface DatagramTransport extends Closeable {

    /** The server this transport talks to. */
    InetSocketAddress server();

    /** Sends one datagram (the buffer's remaining bytes) to the server. */
    void send(ByteBuffer datagram) throws IOException;

    /**
     * Waits up to {@code timeout} for the next datagram from the server and copies its UDP payload
     * into {@code dst}.
     *
     * @return the payload length, or -1 if nothing arrived in time
     */
    int receive(ByteBuffer dst, Duration timeout) throws IOException;
}
