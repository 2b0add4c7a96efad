package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class UdpTransportTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void sendsToAndReceivesFromTheServerOnly() throws Exception {
        try (DatagramChannel server = DatagramChannel.open();
             DatagramChannel stranger = DatagramChannel.open()) {
            server.bind(new InetSocketAddress(LOOPBACK, 0));
            stranger.bind(new InetSocketAddress(LOOPBACK, 0));
            InetSocketAddress serverAddress = (InetSocketAddress) server.getLocalAddress();
            try (UdpTransport t = UdpTransport.open(serverAddress)) {
                assertEquals(serverAddress, t.server());
                t.send(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
                ByteBuffer got = ByteBuffer.allocate(100);
                InetSocketAddress from = (InetSocketAddress) server.receive(got);
                assertEquals(t.localAddress().getPort(), from.getPort());

                stranger.send(ByteBuffer.wrap(new byte[] {9}), from);
                server.send(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)), from);
                ByteBuffer dst = ByteBuffer.allocate(100);
                assertEquals(4, t.receive(dst, Duration.ofSeconds(2)));
                assertEquals("pong", new String(dst.array(), 0, 4, StandardCharsets.US_ASCII));
                assertEquals(-1, t.receive(ByteBuffer.allocate(100), Duration.ofMillis(50)));
            }
        }
    }

    @Test
    void bindsTheRequestedLocalPortAndReportsATakenOne() throws Exception {
        try (DatagramChannel squatter = DatagramChannel.open()) {
            squatter.bind(new InetSocketAddress(0));
            int taken = ((InetSocketAddress) squatter.getLocalAddress()).getPort();
            InetSocketAddress server = new InetSocketAddress(LOOPBACK, 9);
            assertThrows(IOException.class, () -> UdpTransport.open(server, taken));
        }
        int port;
        try (UdpTransport t = UdpTransport.open(new InetSocketAddress(LOOPBACK, 9), 0)) {
            port = t.localAddress().getPort();
        }
        try (UdpTransport again = UdpTransport.open(new InetSocketAddress(LOOPBACK, 9), port)) {
            assertEquals(port, again.localAddress().getPort());
        }
    }
}
