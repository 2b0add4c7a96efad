package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real traffic over loopback in the current network namespace. A plain UDP socket holds the local
 * port throughout, as WireGuard would.
 */
class RawUdpTransportLoopbackTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final InetAddress LOOPBACK = Ipv4UdpTest.addr("127.0.0.1");

    private DatagramChannel server;
    private DatagramChannel wireguard;
    private InetSocketAddress serverAddress;
    private int localPort;
    private RawUdpTransport transport;

    @BeforeAll
    static void requireRoot() {
        assumeTrue(Privileges.isRoot(), "raw sockets need root (CAP_NET_RAW); not running as root");
    }

    @BeforeEach
    void setUp() throws IOException {
        server = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(LOOPBACK, 0));
        serverAddress = (InetSocketAddress) server.getLocalAddress();
        wireguard = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(0));
        localPort = ((InetSocketAddress) wireguard.getLocalAddress()).getPort();
        transport = RawUdpTransport.open(serverAddress, localPort);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (transport != null) {
            transport.close();
        }
        server.close();
        wireguard.close();
    }

    @Test
    void sendsFromTheHeldPortAndReceivesTheAnswer() throws IOException {
        assertEquals(new InetSocketAddress(LOOPBACK, localPort), transport.localAddress());
        assertEquals(serverAddress, transport.server());

        ByteBuffer hello = utf8("hello from the WireGuard port");
        transport.send(hello);
        assertEquals(0, hello.remaining());
        Received r = receivePlain(server);
        assertEquals(new InetSocketAddress(LOOPBACK, localPort), r.from());
        assertEquals("hello from the WireGuard port", r.text());

        server.send(utf8("answer"), r.from());
        ByteBuffer dst = ByteBuffer.allocate(2048);
        assertEquals(6, transport.receive(dst, WAIT));
        assertEquals("answer", new String(dst.array(), 0, dst.position(), StandardCharsets.UTF_8));

        // The kernel also hands the answer to the port's owner; that is how it works with WireGuard.
        Received atOwner = receivePlain(wireguard);
        assertEquals(serverAddress, atOwner.from());
        assertEquals("answer", atOwner.text());
    }

    @Test
    void dropsDatagramsNotFromTheServerToOurPort() throws Exception {
        try (DatagramChannel otherPort = DatagramChannel.open(StandardProtocolFamily.INET)
                     .bind(new InetSocketAddress(LOOPBACK, 0));
             DatagramChannel otherHost = DatagramChannel.open(StandardProtocolFamily.INET)
                     .bind(new InetSocketAddress(Ipv4UdpTest.addr("127.0.0.2"), 0));
             DatagramChannel otherLocal = DatagramChannel.open(StandardProtocolFamily.INET)
                     .bind(new InetSocketAddress(LOOPBACK, 0))) {
            InetSocketAddress us = new InetSocketAddress(LOOPBACK, localPort);
            otherPort.send(utf8("from another port of the server host"), us);
            otherHost.send(utf8("from 127.0.0.2"), us);
            server.send(utf8("to another local port"), otherLocal.getLocalAddress());
            // Prove they were all delivered, so the transport's silence below means filtering.
            assertEquals("from another port of the server host", receivePlain(wireguard).text());
            assertEquals("from 127.0.0.2", receivePlain(wireguard).text());
            assertEquals("to another local port", receivePlain(otherLocal).text());

            ByteBuffer dst = ByteBuffer.allocate(2048);
            assertEquals(-1, transport.receive(dst, Duration.ofMillis(300)));
            assertEquals(0, dst.position());

            server.send(utf8("the real one"), us);
            assertEquals(12, transport.receive(dst, WAIT));
            assertEquals("the real one", new String(dst.array(), 0, 12, StandardCharsets.UTF_8));
            // The kernel's filter, not the checks in Java, kept the others out of the JVM.
            assertEquals(0, transport.droppedAfterFilter());
        }
    }

    /**
     * Unrelated datagrams that reach a new raw socket before its filter is attached must be drained
     * by open(), not read by receive(): with a flood running, many opens hit that window.
     */
    @Test
    void trafficQueuedBeforeTheFilterIsDrained() throws Exception {
        AtomicBoolean flooding = new AtomicBoolean(true);
        Thread flood = new Thread(() -> {
            try (DatagramChannel noise = DatagramChannel.open(StandardProtocolFamily.INET)) {
                ByteBuffer b = ByteBuffer.allocate(32);
                InetSocketAddress sink = (InetSocketAddress) wireguard.getLocalAddress();
                InetSocketAddress target = new InetSocketAddress(LOOPBACK, sink.getPort());
                while (flooding.get()) {
                    b.clear();
                    noise.send(b, target);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "npn-flood");
        flood.start();
        try {
            for (int i = 0; i < 30; i++) {
                try (RawUdpTransport t = RawUdpTransport.open(serverAddress, localPort)) {
                    assertEquals(-1, t.receive(ByteBuffer.allocate(64), Duration.ofMillis(5)));
                    assertEquals(0, t.droppedAfterFilter(), "open " + i + " left unfiltered datagrams queued");
                }
            }
        } finally {
            flooding.set(false);
            flood.join();
        }
    }

    @Test
    void receiveTimesOutWithinBounds() throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(64);
        for (Duration timeout : new Duration[] {Duration.ZERO, Duration.ofMillis(50), Duration.ofMillis(400)}) {
            long start = System.nanoTime();
            assertEquals(-1, transport.receive(dst, timeout));
            long elapsed = System.nanoTime() - start;
            assertTrue(elapsed >= timeout.toNanos(), "returned early after " + elapsed + " ns for " + timeout);
            assertTrue(elapsed < timeout.toNanos() + TimeUnit.SECONDS.toNanos(2),
                    "returned late after " + elapsed + " ns for " + timeout);
        }
    }

    @Test
    void closeWakesABlockedReceiver() throws Exception {
        CompletableFuture<Object> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                return transport.receive(ByteBuffer.allocate(64), Duration.ofSeconds(60));
            } catch (IOException e) {
                return e;
            }
        });
        Thread.sleep(300);
        assertTrue(!blocked.isDone(), "receive returned before close: " + (blocked.isDone() ? blocked.get() : ""));
        long start = System.nanoTime();
        transport.close();
        Object outcome = blocked.get(2, TimeUnit.SECONDS);
        assertTrue(outcome instanceof AsynchronousCloseException, "got " + outcome);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));

        transport.close(); // idempotent
        assertThrows(ClosedChannelException.class, () -> transport.send(utf8("x")));
        assertThrows(ClosedChannelException.class, () -> transport.receive(ByteBuffer.allocate(8), Duration.ZERO));
    }

    @Test
    void interruptEndsAReceiveButNotTheTransport() throws Exception {
        CompletableFuture<Object> outcome = new CompletableFuture<>();
        Thread receiver = new Thread(() -> {
            try {
                outcome.complete(transport.receive(ByteBuffer.allocate(64), Duration.ofSeconds(60)));
            } catch (IOException e) {
                outcome.complete(Thread.currentThread().isInterrupted() ? e : "interrupt status cleared: " + e);
            }
        }, "npn-receiver");
        receiver.start();
        Thread.sleep(200);
        receiver.interrupt();
        Object result = outcome.get(2, TimeUnit.SECONDS);
        assertTrue(result instanceof java.io.InterruptedIOException, "got " + result);
        receiver.join(2000);

        server.send(utf8("still open"), new InetSocketAddress(LOOPBACK, localPort));
        ByteBuffer dst = ByteBuffer.allocate(64);
        assertEquals(10, transport.receive(dst, WAIT));
    }

    @Test
    void aSecondReceiverKeepsItsOwnTimeout() throws Exception {
        CompletableFuture<Object> first = CompletableFuture.supplyAsync(() -> {
            try {
                return transport.receive(ByteBuffer.allocate(64), Duration.ofSeconds(3));
            } catch (IOException e) {
                return e;
            }
        });
        Thread.sleep(200);
        long start = System.nanoTime();
        assertEquals(-1, transport.receive(ByteBuffer.allocate(64), Duration.ofMillis(300)));
        long elapsed = System.nanoTime() - start;
        assertTrue(elapsed < TimeUnit.MILLISECONDS.toNanos(1500), "second receiver waited " + elapsed + " ns");
        server.send(utf8("for the first"), new InetSocketAddress(LOOPBACK, localPort));
        assertEquals(13, first.get(5, TimeUnit.SECONDS));
    }

    @Test
    void closeReleasesTheDescriptors() throws IOException {
        long before = openDescriptors();
        for (int i = 0; i < 100; i++) {
            RawUdpTransport.open(serverAddress, localPort).close();
        }
        // Each open takes two descriptors (socket, eventfd): a leak would show as +200.
        assertTrue(openDescriptors() <= before + 5, before + " descriptors before, " + openDescriptors() + " after");
    }

    private static long openDescriptors() throws IOException {
        try (java.util.stream.Stream<java.nio.file.Path> fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void manyRoundTrips() throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(2048);
        for (int i = 0; i < 300; i++) {
            byte[] payload = ("ping " + i).getBytes(StandardCharsets.UTF_8);
            transport.send(ByteBuffer.wrap(payload));
            Received r = receivePlain(server);
            assertArrayEquals(payload, r.bytes(), "request " + i);
            byte[] answer = ("pong " + i).getBytes(StandardCharsets.UTF_8);
            server.send(ByteBuffer.wrap(answer), r.from());
            dst.clear();
            assertEquals(answer.length, transport.receive(dst, WAIT), "answer " + i);
            assertArrayEquals(answer, Arrays.copyOf(dst.array(), dst.position()), "answer " + i);
            receivePlain(wireguard);
        }
    }

    @Test
    void largestDatagramGoesThroughAndLargerIsRefused() throws IOException {
        byte[] largest = new byte[Ipv4Udp.MAX_PAYLOAD];
        new java.util.Random(1).nextBytes(largest);
        server.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 1 << 20);
        transport.send(ByteBuffer.wrap(largest));
        assertArrayEquals(largest, receivePlain(server).bytes());

        ByteBuffer tooLarge = ByteBuffer.allocate(Ipv4Udp.MAX_PAYLOAD + 1);
        IOException e = assertThrows(IOException.class, () -> transport.send(tooLarge));
        assertEquals("datagram of 65508 bytes exceeds the UDP maximum of 65507 bytes", e.getMessage());
        assertEquals(0, tooLarge.position());
    }

    @Test
    void longAnswerIsTruncatedToTheBuffer() throws IOException {
        server.send(utf8("0123456789"), new InetSocketAddress(LOOPBACK, localPort));
        ByteBuffer dst = ByteBuffer.allocate(4);
        assertEquals(4, transport.receive(dst, WAIT));
        assertEquals("0123", new String(dst.array(), StandardCharsets.UTF_8));
    }

    @Test
    void refusesBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> RawUdpTransport.open(serverAddress, 0));
        assertThrows(IllegalArgumentException.class, () -> RawUdpTransport.open(serverAddress, 65536));
        assertThrows(IllegalArgumentException.class,
                () -> RawUdpTransport.open(InetSocketAddress.createUnresolved("example.org", 3478), 1));
        IOException e = assertThrows(IOException.class, () -> RawUdpTransport.open(
                new InetSocketAddress("::1", 3478), localPort, StandardProtocolFamily.INET));
        assertEquals("address family mismatch: server [::1]:3478 is IPv6, this transport is for IPv4", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> RawUdpTransport.open(serverAddress, localPort, StandardProtocolFamily.UNIX));
        assertThrows(IllegalArgumentException.class, () -> transport.receive(ByteBuffer.allocate(1), Duration.ofMillis(-1)));
    }

    record Received(InetSocketAddress from, byte[] bytes) {
        String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** Receive with a deadline on a plain socket. */
    static Received receivePlain(DatagramChannel channel) throws IOException {
        java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[1 << 16], 1 << 16);
        channel.socket().setSoTimeout((int) WAIT.toMillis());
        channel.socket().receive(p);
        return new Received((InetSocketAddress) p.getSocketAddress(),
                Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength()));
    }

    static ByteBuffer utf8(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }
}
