package dev.natpunch.net;

import static dev.natpunch.net.RawUdpTransportLoopbackTest.receivePlain;
import static dev.natpunch.net.RawUdpTransportLoopbackTest.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The raw transport over IPv6 loopback ({@code ::1}) in the current network namespace. A plain
 * dual-stack UDP socket holds the local port throughout, as WireGuard would.
 */
class RawUdp6TransportLoopbackTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final InetAddress LOOPBACK6 = Ipv6RawFramingTest.addr6("::1");

    private DatagramChannel server;
    private DatagramChannel wireguard;
    private InetSocketAddress serverAddress;
    private int localPort;
    private RawUdpTransport transport;

    @BeforeAll
    static void requireRootAndIpv6() throws IOException {
        assumeTrue(Privileges.isRoot(), "raw sockets need root (CAP_NET_RAW); not running as root");
        try (DatagramChannel probe = DatagramChannel.open(StandardProtocolFamily.INET6)) {
            probe.bind(new InetSocketAddress(LOOPBACK6, 0));
        } catch (UnsupportedOperationException | IOException e) {
            assumeTrue(false, "IPv6 loopback (::1) is not available: " + e);
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        server = DatagramChannel.open(StandardProtocolFamily.INET6).bind(new InetSocketAddress(LOOPBACK6, 0));
        serverAddress = (InetSocketAddress) server.getLocalAddress();
        wireguard = DatagramChannel.open(StandardProtocolFamily.INET6).bind(new InetSocketAddress(0));
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
        InetSocketAddress us = new InetSocketAddress(LOOPBACK6, localPort);
        assertEquals(us, transport.localAddress());
        assertEquals(serverAddress, transport.server());
        assertEquals(StandardProtocolFamily.INET6, transport.family());
        assertEquals("RawUdpTransport[[::1]:" + localPort + " -> [::1]:" + serverAddress.getPort() + "]",
                transport.toString());

        ByteBuffer hello = utf8("hello over IPv6 from the WireGuard port");
        transport.send(hello);
        assertEquals(0, hello.remaining());
        RawUdpTransportLoopbackTest.Received r = receivePlain(server);
        assertEquals(us, r.from());
        assertEquals("hello over IPv6 from the WireGuard port", r.text());

        server.send(utf8("answer"), r.from());
        ByteBuffer dst = ByteBuffer.allocate(2048);
        assertEquals(6, transport.receive(dst, WAIT));
        assertEquals("answer", new String(dst.array(), 0, dst.position(), StandardCharsets.UTF_8));
        // The port's owner gets the answer too, as WireGuard would (and drops it as invalid).
        RawUdpTransportLoopbackTest.Received atOwner = receivePlain(wireguard);
        assertEquals(serverAddress, atOwner.from());
        assertEquals("answer", atOwner.text());
    }

    @Test
    void dropsDatagramsNotFromTheServerToOurPort() throws Exception {
        int serverPort = serverAddress.getPort();
        try (DatagramChannel otherPort = DatagramChannel.open(StandardProtocolFamily.INET6)
                     .bind(new InetSocketAddress(LOOPBACK6, 0));
             DatagramChannel otherLocal = DatagramChannel.open(StandardProtocolFamily.INET6)
                     .bind(new InetSocketAddress(LOOPBACK6, 0));
             DatagramChannel sameNumbersOverIpv4 = DatagramChannel.open(StandardProtocolFamily.INET)) {
            // The server's port number over IPv4 to our port: an IPv6 raw socket never sees it.
            sameNumbersOverIpv4.bind(new InetSocketAddress("127.0.0.1", serverPort));
            InetSocketAddress us = new InetSocketAddress(LOOPBACK6, localPort);
            otherPort.send(utf8("from another port of the server host"), us);
            server.send(utf8("to another local port"), otherLocal.getLocalAddress());
            sameNumbersOverIpv4.send(utf8("over IPv4"), new InetSocketAddress("127.0.0.1", localPort));
            assertEquals("from another port of the server host", receivePlain(wireguard).text());
            assertEquals("to another local port", receivePlain(otherLocal).text());
            assertEquals("over IPv4", receivePlain(wireguard).text());

            ByteBuffer dst = ByteBuffer.allocate(2048);
            assertEquals(-1, transport.receive(dst, Duration.ofMillis(300)));
            assertEquals(0, dst.position());

            server.send(utf8("the real one"), us);
            assertEquals(12, transport.receive(dst, WAIT));
            assertEquals("the real one", new String(dst.array(), 0, 12, StandardCharsets.UTF_8));
            assertEquals(0, transport.droppedAfterFilter(), "the kernel's filter must have dropped the others");
        }
    }

    /**
     * What a socket filter on an {@code AF_INET6} raw UDP socket sees, read back through the
     * kernel itself: each probe filter returns one byte it loaded, plus 1, as the length to keep
     * (the 1 tells a zero byte from a drop), so the length received is that byte plus one. Offset 0 is the UDP header (no IPv6 header as on
     * IPv4), and the IPv6 header is reachable at {@code SKF_NET_OFF}.
     */
    @Test
    void theSocketFilterSeesUdpAtOffsetZeroAndTheIpv6HeaderAtSkfNetOff() throws Exception {
        int serverPort = serverAddress.getPort();
        int[][] probes = {
            // {offset, expected byte}
            {0, serverPort >>> 8}, {1, serverPort & 0xFF}, {2, localPort >>> 8}, {3, localPort & 0xFF},
            {4, (8 + 300) >>> 8}, {5, (8 + 300) & 0xFF},       // UDP length
            {BpfProgram.NET_OFF, 0x60},   // version 6, traffic class 0
            {BpfProgram.NET_OFF + 6, 17}, // next header: UDP
            {BpfProgram.NET_OFF + 8, 0},  // source ::1, first byte
            {BpfProgram.NET_OFF + 23, 1}, // source ::1, last byte
            {BpfProgram.NET_OFF + 39, 1}, // destination ::1, last byte
        };
        LinuxLibc libc = LinuxLibc.INSTANCE;
        List<Integer> fds = new ArrayList<>();
        try {
            for (int[] probe : probes) {
                int fd = libc.socket(LinuxLibc.AF_INET6, LinuxLibc.SOCK_RAW | LinuxLibc.SOCK_CLOEXEC,
                        LinuxLibc.IPPROTO_UDP);
                fds.add(fd);
                RawUdpTransport.attachFilter(libc, fd, new BpfProgram(List.of(
                        // Only datagrams to our port: the gate itself relies on ldh [2] being it.
                        new BpfProgram.Insn(0x28, 0, 0, 2),                      // ldh [2]
                        new BpfProgram.Insn(0x15, 1, 0, localPort),              // jeq #localPort
                        new BpfProgram.Insn(0x06, 0, 0, 0),                      // ret #0
                        new BpfProgram.Insn(0x30, 0, 0, probe[0]),               // ldb [offset]
                        new BpfProgram.Insn(0x04, 0, 0, 1),                      // add #1
                        new BpfProgram.Insn(0x16, 0, 0, 0))));                   // ret a
                drainNonBlocking(libc, fd);
            }
            server.send(ByteBuffer.allocate(300), new InetSocketAddress(LOOPBACK6, localPort));
            receivePlain(wireguard);
            for (int i = 0; i < probes.length; i++) {
                int length = recvWithin(libc, fds.get(i), 2000);
                assertEquals(probes[i][1] + 1, length,
                        "byte at filter offset " + Integer.toHexString(probes[i][0]) + " (length kept = byte + 1)");
            }
        } finally {
            for (int fd : fds) {
                libc.close(fd);
            }
        }
    }

    @Test
    void oneTransportPerFamilyToTheSameServer() throws Exception {
        try (DatagramChannel dualStack = DatagramChannel.open(StandardProtocolFamily.INET6)
                .bind(new InetSocketAddress(0))) {
            int port = ((InetSocketAddress) dualStack.getLocalAddress()).getPort();
            InetSocketAddress v4Server = new InetSocketAddress("127.0.0.1", port);
            InetSocketAddress v6Server = new InetSocketAddress(LOOPBACK6, port);
            try (DatagramTransport v4 = TransportFactory.raw(StandardProtocolFamily.INET).open(v4Server, localPort);
                 DatagramTransport v6 = TransportFactory.raw(StandardProtocolFamily.INET6).open(v6Server, localPort)) {
                v4.send(utf8("via IPv4"));
                v6.send(utf8("via IPv6"));
                RawUdpTransportLoopbackTest.Received first = receivePlain(dualStack);
                RawUdpTransportLoopbackTest.Received second = receivePlain(dualStack);
                for (RawUdpTransportLoopbackTest.Received r : List.of(first, second)) {
                    assertEquals(localPort, r.from().getPort());
                    String expected = r.from().getAddress() instanceof Inet4Address ? "via IPv4" : "via IPv6";
                    assertEquals(expected, r.text(), "from " + r.from());
                    dualStack.send(utf8("answer " + r.text()), r.from());
                }
                ByteBuffer dst = ByteBuffer.allocate(64);
                assertEquals(15, v4.receive(dst, WAIT));
                assertEquals("answer via IPv4", new String(dst.array(), 0, 15, StandardCharsets.UTF_8));
                assertEquals(-1, v4.receive(dst.clear(), Duration.ofMillis(200)), "the IPv6 answer leaked into IPv4");
                assertEquals(15, v6.receive(dst.clear(), WAIT));
                assertEquals("answer via IPv6", new String(dst.array(), 0, 15, StandardCharsets.UTF_8));
                assertEquals(-1, v6.receive(dst.clear(), Duration.ofMillis(200)), "the IPv4 answer leaked into IPv6");
            }
            IOException mismatch = assertThrows(IOException.class,
                    () -> TransportFactory.raw(StandardProtocolFamily.INET6).open(v4Server, localPort));
            assertEquals("address family mismatch: server 127.0.0.1:" + port + " is IPv4, this transport is for IPv6",
                    mismatch.getMessage());
            DatagramTransport any = TransportFactory.raw().open(v6Server, localPort);
            try {
                assertEquals(StandardProtocolFamily.INET6, ((RawUdpTransport) any).family());
            } finally {
                any.close();
            }
        }
    }

    @Test
    void anIpv4MappedServerAddressIsRefusedWithTheIpv4Address() throws Exception {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xFF;
        mapped[11] = (byte) 0xFF;
        mapped[12] = 127;
        mapped[15] = 1;
        InetSocketAddress server = new InetSocketAddress(java.net.Inet6Address.getByAddress(null, mapped, -1), 3478);
        IOException e = assertThrows(IOException.class, () -> RawUdpTransport.open(server, localPort));
        assertEquals("server [::ffff:127.0.0.1]:3478 is an IPv4-mapped IPv6 address: give its IPv4 address 127.0.0.1 instead",
                e.getMessage());
    }

    /**
     * A closed server port answers with ICMPv6 port unreachable. Linux does not report that on an
     * unconnected raw socket without IPV6_RECVERR (and if it did, the errno would be skipped as an
     * ICMP report); either way the wait and the transport must go on.
     */
    @Test
    void anIcmpErrorFromAClosedPortIsNotFatal() throws Exception {
        int closedPort;
        try (DatagramChannel probe = DatagramChannel.open(StandardProtocolFamily.INET6)
                .bind(new InetSocketAddress(LOOPBACK6, 0))) {
            closedPort = ((InetSocketAddress) probe.getLocalAddress()).getPort();
        }
        try (RawUdpTransport toClosed = RawUdpTransport.open(new InetSocketAddress(LOOPBACK6, closedPort), localPort)) {
            toClosed.send(utf8("anyone there?"));
            long start = System.nanoTime();
            assertEquals(-1, toClosed.receive(ByteBuffer.allocate(64), Duration.ofMillis(300)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300));
            toClosed.send(utf8("still usable"));
        }
    }

    @Test
    void trafficQueuedBeforeTheFilterIsDrained() throws Exception {
        AtomicBoolean flooding = new AtomicBoolean(true);
        Thread flood = new Thread(() -> {
            try (DatagramChannel noise = DatagramChannel.open(StandardProtocolFamily.INET6)) {
                ByteBuffer b = ByteBuffer.allocate(32);
                InetSocketAddress target = new InetSocketAddress(LOOPBACK6, localPort);
                while (flooding.get()) {
                    b.clear();
                    noise.send(b, target);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "npn-flood6");
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
    void closeWakesABlockedReceiver() throws Exception {
        CompletableFuture<Object> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                return transport.receive(ByteBuffer.allocate(64), Duration.ofSeconds(60));
            } catch (IOException e) {
                return e;
            }
        });
        Thread.sleep(300);
        assertFalse(blocked.isDone(), "receive returned before close");
        long start = System.nanoTime();
        transport.close();
        Object outcome = blocked.get(2, TimeUnit.SECONDS);
        assertTrue(outcome instanceof AsynchronousCloseException, "got " + outcome);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));
        transport.close();
        assertThrows(ClosedChannelException.class, () -> transport.send(utf8("x")));
        assertThrows(ClosedChannelException.class, () -> transport.receive(ByteBuffer.allocate(8), Duration.ZERO));
    }

    @Test
    void manyRoundTrips() throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(2048);
        for (int i = 0; i < 200; i++) {
            byte[] payload = ("ping6 " + i).getBytes(StandardCharsets.UTF_8);
            transport.send(ByteBuffer.wrap(payload));
            RawUdpTransportLoopbackTest.Received r = receivePlain(server);
            assertArrayEquals(payload, r.bytes(), "request " + i);
            byte[] answer = ("pong6 " + i).getBytes(StandardCharsets.UTF_8);
            server.send(ByteBuffer.wrap(answer), r.from());
            dst.clear();
            assertEquals(answer.length, transport.receive(dst, WAIT), "answer " + i);
            assertArrayEquals(answer, Arrays.copyOf(dst.array(), dst.position()), "answer " + i);
            receivePlain(wireguard);
        }
    }

    /** Loopback's MTU is 65536: 40 + 8 + 65488 fills it; IPv6 UDP itself would allow 65527. */
    @Test
    void largestDatagramForTheMtuGoesThroughLargerIsRefused() throws IOException {
        server.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 1 << 20);
        byte[] largest = new byte[65536 - 40 - 8];
        new java.util.Random(1).nextBytes(largest);
        transport.send(ByteBuffer.wrap(largest));
        assertArrayEquals(largest, receivePlain(server).bytes());

        IOException mtu = assertThrows(IOException.class, () -> transport.send(ByteBuffer.allocate(largest.length + 1)));
        assertTrue(mtu.getMessage().startsWith("datagram of 65489 bytes does not fit the MTU of the route to [::1]:"),
                mtu.getMessage());
        ByteBuffer tooLarge = ByteBuffer.allocate(Ipv6RawFraming.MAX_PAYLOAD + 1);
        IOException e = assertThrows(IOException.class, () -> transport.send(tooLarge));
        assertEquals("datagram of 65528 bytes exceeds the UDP maximum of 65527 bytes", e.getMessage());
        assertEquals(0, tooLarge.position());
    }

    @Test
    void closeReleasesTheDescriptors() throws IOException {
        long before = openDescriptors();
        for (int i = 0; i < 100; i++) {
            RawUdpTransport.open(serverAddress, localPort).close();
        }
        assertTrue(openDescriptors() <= before + 5, before + " descriptors before, " + openDescriptors() + " after");
    }

    private static long openDescriptors() throws IOException {
        try (java.util.stream.Stream<java.nio.file.Path> fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private static void drainNonBlocking(LinuxLibc libc, int fd) {
        Memory scratch = new Memory(1 << 16);
        while (true) {
            try {
                libc.recv(fd, scratch, new NativeLong(scratch.size()), LinuxLibc.MSG_DONTWAIT);
            } catch (LastErrorException e) {
                return;
            }
        }
    }

    /** The length of the next datagram on {@code fd} within {@code millis}, or -1. */
    static int recvWithin(LinuxLibc libc, int fd, int millis) {
        return recvWithin(libc, fd, millis, new Memory(1 << 16));
    }

    /** Like {@link #recvWithin(LinuxLibc, int, int)}, the datagram left in {@code buffer}. */
    static int recvWithin(LinuxLibc libc, int fd, int millis, Memory buffer) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            try {
                return libc.recv(fd, buffer, new NativeLong(buffer.size()), LinuxLibc.MSG_DONTWAIT).intValue();
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LinuxLibc.EAGAIN) {
                    throw e;
                }
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
        return -1;
    }
}
