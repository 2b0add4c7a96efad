package dev.natpunch.net;

import static dev.natpunch.net.RawUdpTransportLoopbackTest.receivePlain;
import static dev.natpunch.net.RawUdpTransportLoopbackTest.utf8;
import static dev.natpunch.net.RawUdpTransportNetnsTest.ip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The raw transport over IPv6 between two network namespaces joined by a veth pair. The client
 * reaches the server's 2001:db8:99::1 (documentation prefix as the simulated internet) through a
 * route with {@code src fd00:6::77}, a secondary ULA address, so the kernel's choice of source
 * address is what the UDP checksum must cover. A plain UDP socket holds the WireGuard port.
 *
 * <pre>
 *   v6-c: v6-vc fd00:6::1/64, fd00:6::77/64, fe80::1/64; 2001:db8:99::/48 via fd00:6::2 src fd00:6::77
 *   v6-s: v6-vs fd00:6::2/64, 2001:db8:99::1/128 (the server), 2001:db8:99::2/128, fe80::2/64
 * </pre>
 */
class RawUdp6TransportNetnsTest {

    private static final String CLIENT_NS = "v6-c";
    private static final String SERVER_NS = "v6-s";
    private static final Inet6Address CLIENT_ADDRESS = Ipv6RawFramingTest.addr6("fd00:6::77");
    private static final Inet6Address SERVER_ADDRESS = Ipv6RawFramingTest.addr6("2001:db8:99::1");
    private static final InetSocketAddress SERVER = new InetSocketAddress(SERVER_ADDRESS, 3478);
    private static final int WG_PORT = 51820;
    private static final InetSocketAddress US = new InetSocketAddress(CLIENT_ADDRESS, WG_PORT);
    private static final Duration WAIT = Duration.ofSeconds(5);

    private DatagramChannel server;
    private DatagramChannel wireguard;
    private RawUdpTransport transport;

    @BeforeAll
    static void createNamespaces() throws Exception {
        assumeTrue(Privileges.isRoot(), "network namespaces and raw sockets need root; not running as root");
        assumeTrue(new java.io.File("/usr/sbin/ip").canExecute() || new java.io.File("/sbin/ip").canExecute()
                || new java.io.File("/usr/bin/ip").canExecute(), "iproute2 (ip) is not installed");
        deleteNamespaces();
        try {
            ip("netns", "add", CLIENT_NS);
            ip("netns", "add", SERVER_NS);
            ip("link", "add", "v6-vc", "netns", CLIENT_NS, "type", "veth", "peer", "name", "v6-vs",
                    "netns", SERVER_NS);
            // nodad: usable at once, not after duplicate address detection's second or so.
            ip("-n", CLIENT_NS, "addr", "add", "fd00:6::1/64", "dev", "v6-vc", "nodad");
            ip("-n", CLIENT_NS, "addr", "add", "fd00:6::77/64", "dev", "v6-vc", "nodad");
            ip("-n", SERVER_NS, "addr", "add", "fd00:6::2/64", "dev", "v6-vs", "nodad");
            ip("-n", SERVER_NS, "addr", "add", "2001:db8:99::1/128", "dev", "v6-vs", "nodad");
            ip("-n", SERVER_NS, "addr", "add", "2001:db8:99::2/128", "dev", "v6-vs", "nodad");
            ip("-n", CLIENT_NS, "addr", "add", "fe80::1/64", "dev", "v6-vc", "nodad");
            ip("-n", SERVER_NS, "addr", "add", "fe80::2/64", "dev", "v6-vs", "nodad");
            for (String ns : List.of(CLIENT_NS, SERVER_NS)) {
                ip("-n", ns, "link", "set", "lo", "up");
            }
            ip("-n", CLIENT_NS, "link", "set", "v6-vc", "up");
            ip("-n", SERVER_NS, "link", "set", "v6-vs", "up");
            ip("-n", CLIENT_NS, "-6", "route", "add", "2001:db8:99::/48", "via", "fd00:6::2", "src", "fd00:6::77");
        } catch (Exception | AssertionError e) {
            deleteNamespaces();
            throw e;
        }
    }

    @AfterAll
    static void deleteNamespaces() throws Exception {
        if (!Privileges.isRoot()) {
            return;
        }
        for (String ns : List.of(CLIENT_NS, SERVER_NS)) {
            if (new java.io.File("/run/netns/" + ns).exists()) {
                ip("netns", "del", ns); // takes the veth pair with it
            }
        }
    }

    @BeforeEach
    void open() throws Exception {
        server = Privileges.inNamespace(SERVER_NS,
                () -> DatagramChannel.open(StandardProtocolFamily.INET6).bind(SERVER));
        wireguard = Privileges.inNamespace(CLIENT_NS,
                () -> DatagramChannel.open(StandardProtocolFamily.INET6).bind(new InetSocketAddress(WG_PORT)));
        transport = Privileges.inNamespace(CLIENT_NS, () -> RawUdpTransport.open(SERVER, WG_PORT));
    }

    @AfterEach
    void close() throws IOException {
        if (transport != null) {
            transport.close();
        }
        if (wireguard != null) {
            wireguard.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void roundTripFromTheRoutesSourceAddressWhileThePortIsHeld() throws IOException {
        assertEquals(US, transport.localAddress());
        ByteBuffer dst = ByteBuffer.allocate(2048);
        for (int i = 0; i < 50; i++) {
            byte[] request = ("handshake " + i).getBytes(StandardCharsets.UTF_8);
            transport.send(ByteBuffer.wrap(request));
            RawUdpTransportLoopbackTest.Received r = receivePlain(server);
            assertEquals(US, r.from());
            assertArrayEquals(request, r.bytes());

            byte[] answer = ("answer " + i).getBytes(StandardCharsets.UTF_8);
            server.send(ByteBuffer.wrap(answer), r.from());
            dst.clear();
            assertEquals(answer.length, transport.receive(dst, WAIT));
            assertArrayEquals(answer, Arrays.copyOf(dst.array(), dst.position()));
            assertArrayEquals(answer, receivePlain(wireguard).bytes());
        }
    }

    /**
     * The datagrams on the wire carry the right checksum, over the pseudo-header with the source
     * address the kernel picked: read back by a raw socket on the server side and recomputed here.
     */
    @Test
    void theKernelChecksumsOurDatagramsOverTheChosenSourceAddress() throws Exception {
        try (Capture capture = Privileges.inNamespace(SERVER_NS, Capture::new)) {
            for (String text : List.of("", "a", "odd length!", "even length!", "x".repeat(1000))) {
                transport.send(utf8(text));
                ByteBuffer datagram = capture.next();
                assertEquals(text, receivePlain(server).text());
                int checksum = datagram.getShort(6) & 0xFFFF;
                assertNotEquals(0, checksum, "IPv6 UDP datagrams must carry a checksum");
                assertEquals(Ipv6Checksums.compute(CLIENT_ADDRESS, SERVER_ADDRESS, datagram), checksum,
                        "checksum of '" + text + "'");
                assertTrue(Ipv6Checksums.isValid(CLIENT_ADDRESS, SERVER_ADDRESS, datagram));
            }
        }
    }

    /** RFC 8200 8.1: a checksum that computes to 0 goes out as 0xFFFF, since 0 would mean none. */
    @Test
    void aChecksumOfZeroIsSentAsAllOnes() throws Exception {
        ByteBuffer header = ByteBuffer.allocate(8);
        header.putShort((short) WG_PORT).putShort((short) SERVER.getPort()).putShort((short) 10).putShort((short) 0);
        int sum = Ipv4Udp.sum(header, 0, 8, Ipv6Checksums.pseudoHeaderSum(CLIENT_ADDRESS, SERVER_ADDRESS, 10));
        // A payload word that brings the ones' complement sum to 0xFFFF, whose complement is 0.
        int word = 0xFFFF - sum;
        byte[] payload = {(byte) (word >>> 8), (byte) word};
        try (Capture capture = Privileges.inNamespace(SERVER_NS, Capture::new)) {
            transport.send(ByteBuffer.wrap(payload));
            ByteBuffer datagram = capture.next();
            assertEquals(0xFFFF, datagram.getShort(6) & 0xFFFF);
            assertTrue(Ipv6Checksums.isValid(CLIENT_ADDRESS, SERVER_ADDRESS, datagram));
            assertArrayEquals(payload, receivePlain(server).bytes());
        }
    }

    /**
     * The server's kernel verifies UDP checksums on this path: a forged datagram with a wrong one
     * is not delivered, the same with the right one is. So the deliveries above are meaningful.
     */
    @Test
    void theServerSideDropsABadChecksumAndTakesAGoodOne() throws Exception {
        server.configureBlocking(false);
        Privileges.inNamespace(CLIENT_NS, () -> {
            forge(CLIENT_ADDRESS, WG_PORT, SERVER_ADDRESS, SERVER.getPort(), "bad checksum", 1);
            return null;
        });
        Thread.sleep(300);
        assertEquals(null, server.receive(ByteBuffer.allocate(64)), "a datagram with a bad checksum was delivered");
        server.configureBlocking(true);
        Privileges.inNamespace(CLIENT_NS, () -> {
            forge(CLIENT_ADDRESS, WG_PORT, SERVER_ADDRESS, SERVER.getPort(), "good checksum", 0);
            return null;
        });
        assertEquals("good checksum", receivePlain(server).text());
    }

    /**
     * With IPV6_CHECKSUM set, the client's kernel verifies answers before our recv: a corrupt one
     * from the server's address and ports passes the filter but never reaches Java.
     */
    @Test
    void aCorruptAnswerIsDroppedBeforeItReachesUs() throws Exception {
        Privileges.inNamespace(SERVER_NS, () -> {
            forge(SERVER_ADDRESS, SERVER.getPort(), CLIENT_ADDRESS, WG_PORT, "corrupt", 0x100);
            return null;
        });
        ByteBuffer dst = ByteBuffer.allocate(64);
        assertEquals(-1, transport.receive(dst, Duration.ofMillis(300)));
        assertEquals(0, transport.droppedAfterFilter());

        Privileges.inNamespace(SERVER_NS, () -> {
            forge(SERVER_ADDRESS, SERVER.getPort(), CLIENT_ADDRESS, WG_PORT, "intact", 0);
            return null;
        });
        assertEquals(6, transport.receive(dst, WAIT));
        assertEquals("intact", new String(dst.array(), 0, 6, StandardCharsets.UTF_8));
    }

    @Test
    void dropsOtherTrafficOnTheWire() throws Exception {
        List<DatagramChannel> others = new ArrayList<>();
        try {
            DatagramChannel otherAddress = Privileges.inNamespace(SERVER_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET6).bind(new InetSocketAddress("2001:db8:99::2", SERVER.getPort())));
            others.add(otherAddress);
            DatagramChannel otherLink = Privileges.inNamespace(SERVER_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET6).bind(new InetSocketAddress("fd00:6::2", SERVER.getPort())));
            others.add(otherLink);
            DatagramChannel otherPort = Privileges.inNamespace(SERVER_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET6).bind(new InetSocketAddress(SERVER_ADDRESS, 3479)));
            others.add(otherPort);
            DatagramChannel otherLocal = Privileges.inNamespace(CLIENT_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET6).bind(new InetSocketAddress(WG_PORT + 1)));
            others.add(otherLocal);

            otherAddress.send(utf8("other address"), US);
            otherLink.send(utf8("other address on the link"), US);
            otherPort.send(utf8("other port"), US);
            server.send(utf8("other local port"), new InetSocketAddress(CLIENT_ADDRESS, WG_PORT + 1));
            assertEquals("other address", receivePlain(wireguard).text());
            assertEquals("other address on the link", receivePlain(wireguard).text());
            assertEquals("other port", receivePlain(wireguard).text());
            assertEquals("other local port", receivePlain(otherLocal).text());

            long start = System.nanoTime();
            assertEquals(-1, transport.receive(ByteBuffer.allocate(64), Duration.ofMillis(300)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300));
            assertEquals(0, transport.droppedAfterFilter(), "the kernel's filter must have dropped them");

            server.send(utf8("from the server"), US);
            ByteBuffer dst = ByteBuffer.allocate(64);
            assertEquals(15, transport.receive(dst, WAIT));
            assertEquals("from the server", new String(dst.array(), 0, 15, StandardCharsets.UTF_8));
        } finally {
            for (DatagramChannel c : others) {
                c.close();
            }
        }
    }

    @Test
    void datagramsLargerThanTheMtuAreRefusedNotFragmented() throws IOException {
        // veth MTU 1500: 40 + 8 + 1452 fits exactly.
        byte[] fits = new byte[1452];
        Arrays.fill(fits, (byte) 0x5A);
        transport.send(ByteBuffer.wrap(fits));
        assertArrayEquals(fits, receivePlain(server).bytes());

        IOException e = assertThrows(IOException.class, () -> transport.send(ByteBuffer.allocate(1453)));
        assertTrue(e.getMessage().startsWith(
                "datagram of 1453 bytes does not fit the MTU of the route to [2001:db8:99::1]:3478"), e.getMessage());
    }

    /**
     * An answer that crossed the wire in IPv6 fragments reaches the filter reassembled, the
     * fragment header pulled with the IPv6 header: the UDP header is still at offset 0.
     */
    @Test
    void fragmentedAnswersArriveReassembled() throws IOException {
        byte[] large = new byte[3000];
        new java.util.Random(7).nextBytes(large);
        wireguard.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 16);
        server.send(ByteBuffer.wrap(large), US);
        ByteBuffer dst = ByteBuffer.allocate(4096);
        assertEquals(large.length, transport.receive(dst, WAIT));
        assertArrayEquals(large, Arrays.copyOf(dst.array(), dst.position()));
        assertEquals(0, transport.droppedAfterFilter());
    }

    /** A server on the link-local address needs its scope (the interface) to send and to match answers. */
    @Test
    void aLinkLocalServerWorksThroughItsScope() throws Exception {
        Inet6Address serverLinkLocal = Inet6Address.getByAddress(null,
                Ipv6RawFramingTest.addr6("fe80::2").getAddress(), ifindex(SERVER_NS, "v6-vs"));
        Inet6Address serverSeenFromClient = Inet6Address.getByAddress(null,
                Ipv6RawFramingTest.addr6("fe80::2").getAddress(), ifindex(CLIENT_NS, "v6-vc"));
        try (DatagramChannel linkServer = Privileges.inNamespace(SERVER_NS, () -> DatagramChannel
                     .open(StandardProtocolFamily.INET6).bind(new InetSocketAddress(serverLinkLocal, 3478)));
             RawUdpTransport t = Privileges.inNamespace(CLIENT_NS,
                     () -> RawUdpTransport.open(new InetSocketAddress(serverSeenFromClient, 3478), WG_PORT))) {
            assertTrue(t.localAddress().getAddress().isLinkLocalAddress(), t.localAddress().toString());
            t.send(utf8("over the link"));
            RawUdpTransportLoopbackTest.Received r = receivePlain(linkServer);
            assertEquals("over the link", r.text());
            assertEquals(WG_PORT, r.from().getPort());
            assertTrue(r.from().getAddress().isLinkLocalAddress(), r.from().toString());
            linkServer.send(utf8("link answer"), r.from());
            ByteBuffer dst = ByteBuffer.allocate(64);
            assertEquals(11, t.receive(dst, WAIT));
            assertEquals("link answer", new String(dst.array(), 0, 11, StandardCharsets.UTF_8));
            assertEquals(0, t.droppedAfterFilter());
        }
    }

    private static int ifindex(String namespace, String device) throws Exception {
        Process p = new ProcessBuilder("ip", "-n", namespace, "-o", "link", "show", device).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return Integer.parseInt(out.substring(0, out.indexOf(':')).trim());
    }

    @Test
    void noRouteIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> Privileges.inNamespace(CLIENT_NS,
                () -> RawUdpTransport.open(new InetSocketAddress("2001:db8:ffff::5", 3478), WG_PORT)));
        assertTrue(e.getMessage().startsWith("no route to [2001:db8:ffff::5]:3478: "), e.getMessage());
    }

    /** Sends one UDP datagram through a raw socket, its checksum off by {@code checksumError}. */
    private static void forge(Inet6Address from, int fromPort, Inet6Address to, int toPort, String text,
                              int checksumError) {
        byte[] payload = text.getBytes(StandardCharsets.UTF_8);
        ByteBuffer d = ByteBuffer.allocate(8 + payload.length);
        d.putShort((short) fromPort).putShort((short) toPort).putShort((short) d.capacity()).putShort((short) 0)
                .put(payload).flip();
        int checksum = Ipv6Checksums.compute(from, to, d);
        d.putShort(6, (short) ((checksum + checksumError) & 0xFFFF));
        LinuxLibc libc = LinuxLibc.INSTANCE;
        int fd = libc.socket(LinuxLibc.AF_INET6, LinuxLibc.SOCK_RAW | LinuxLibc.SOCK_CLOEXEC, LinuxLibc.IPPROTO_UDP);
        try {
            LinuxLibc.SockaddrIn6 source = new LinuxLibc.SockaddrIn6(from.getAddress(), 0, 0);
            TestLibc.INSTANCE.bind(fd, source, source.size());
            Memory m = new Memory(d.remaining());
            m.write(0, d.array(), 0, d.remaining());
            LinuxLibc.SockaddrIn6 destination = new LinuxLibc.SockaddrIn6(to.getAddress(), 0, 0);
            libc.sendto(fd, m, new NativeLong(m.size()), 0, destination, destination.size());
        } finally {
            libc.close(fd);
        }
    }

    /**
     * A raw socket in the server's namespace that sees our datagrams to the server as they came
     * off the wire (no IPV6_CHECKSUM on it, so the kernel leaves the checksum field to us).
     */
    private static final class Capture implements AutoCloseable {
        private final LinuxLibc libc = LinuxLibc.INSTANCE;
        private final int fd;
        private final Memory buffer = new Memory(1 << 16);

        Capture() {
            fd = libc.socket(LinuxLibc.AF_INET6, LinuxLibc.SOCK_RAW | LinuxLibc.SOCK_CLOEXEC, LinuxLibc.IPPROTO_UDP);
            RawUdpTransport.attachFilter(libc, fd, BpfProgram.ipv6UdpFrom(CLIENT_ADDRESS, WG_PORT, SERVER.getPort()));
            while (true) {
                try {
                    libc.recv(fd, buffer, new NativeLong(buffer.size()), LinuxLibc.MSG_DONTWAIT);
                } catch (LastErrorException e) {
                    break;
                }
            }
        }

        ByteBuffer next() {
            int n = RawUdp6TransportLoopbackTest.recvWithin(libc, fd, 5000, buffer);
            assertTrue(n >= 8, "captured nothing");
            ByteBuffer copy = ByteBuffer.allocate(n).order(ByteOrder.BIG_ENDIAN);
            copy.put(buffer.getByteBuffer(0, n)).flip();
            return copy;
        }

        @Override
        public void close() {
            libc.close(fd);
        }
    }
}
