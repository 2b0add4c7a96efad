package dev.natpunch.net;

import static dev.natpunch.net.RawUdpTransportLoopbackTest.receivePlain;
import static dev.natpunch.net.RawUdpTransportLoopbackTest.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
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
 * Real traffic between two network namespaces over a veth pair. The client namespace npn-a reaches
 * the server's 198.18.99.1 through a route with {@code src 198.18.71.77}, a secondary address, so
 * the transport must take the source address from the route, not from the interface.
 *
 * <pre>
 *   npn-a: npn-va 198.18.71.1/24, 198.18.71.77/24; 198.18.99.0/24 via 198.18.71.2 src 198.18.71.77
 *   npn-b: npn-vb 198.18.71.2/24, 198.18.99.1/32 (the server)
 * </pre>
 */
class RawUdpTransportNetnsTest {

    private static final String CLIENT_NS = "npn-a";
    private static final String SERVER_NS = "npn-b";
    private static final InetSocketAddress SERVER = new InetSocketAddress("198.18.99.1", 3478);
    private static final int WG_PORT = 51820;
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
            ip("link", "add", "npn-va", "netns", CLIENT_NS, "type", "veth", "peer", "name", "npn-vb",
                    "netns", SERVER_NS);
            ip("-n", CLIENT_NS, "addr", "add", "198.18.71.1/24", "dev", "npn-va");
            ip("-n", CLIENT_NS, "addr", "add", "198.18.71.77/24", "dev", "npn-va");
            ip("-n", SERVER_NS, "addr", "add", "198.18.71.2/24", "dev", "npn-vb");
            ip("-n", SERVER_NS, "addr", "add", "198.18.99.1/32", "dev", "npn-vb");
            for (String ns : List.of(CLIENT_NS, SERVER_NS)) {
                ip("-n", ns, "link", "set", "lo", "up");
            }
            ip("-n", CLIENT_NS, "link", "set", "npn-va", "up");
            ip("-n", SERVER_NS, "link", "set", "npn-vb", "up");
            ip("-n", CLIENT_NS, "route", "add", "198.18.99.0/24", "via", "198.18.71.2", "src", "198.18.71.77");
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
                () -> DatagramChannel.open(StandardProtocolFamily.INET).bind(SERVER));
        wireguard = Privileges.inNamespace(CLIENT_NS,
                () -> DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(WG_PORT)));
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
    void roundTripFromTheRoutesSourceAddress() throws IOException {
        InetSocketAddress expectedLocal = new InetSocketAddress("198.18.71.77", WG_PORT);
        assertEquals(expectedLocal, transport.localAddress());
        ByteBuffer dst = ByteBuffer.allocate(2048);
        for (int i = 0; i < 50; i++) {
            byte[] request = ("handshake " + i).getBytes(StandardCharsets.UTF_8);
            transport.send(ByteBuffer.wrap(request));
            RawUdpTransportLoopbackTest.Received r = receivePlain(server);
            assertEquals(expectedLocal, r.from());
            assertArrayEquals(request, r.bytes());

            byte[] answer = ("answer " + i).getBytes(StandardCharsets.UTF_8);
            server.send(ByteBuffer.wrap(answer), r.from());
            dst.clear();
            assertEquals(answer.length, transport.receive(dst, WAIT));
            assertArrayEquals(answer, Arrays.copyOf(dst.array(), dst.position()));
            assertArrayEquals(answer, receivePlain(wireguard).bytes());
        }
    }

    @Test
    void dropsOtherTrafficOnTheWire() throws Exception {
        List<DatagramChannel> others = new ArrayList<>();
        try {
            DatagramChannel otherAddress = Privileges.inNamespace(SERVER_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET).bind(new InetSocketAddress("198.18.71.2", SERVER.getPort())));
            others.add(otherAddress);
            DatagramChannel otherPort = Privileges.inNamespace(SERVER_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET).bind(new InetSocketAddress("198.18.99.1", 3479)));
            others.add(otherPort);
            DatagramChannel otherLocal = Privileges.inNamespace(CLIENT_NS, () -> DatagramChannel
                    .open(StandardProtocolFamily.INET).bind(new InetSocketAddress(WG_PORT + 1)));
            others.add(otherLocal);

            InetSocketAddress us = transport.localAddress();
            otherAddress.send(utf8("other address"), us);
            otherPort.send(utf8("other port"), us);
            server.send(utf8("other local port"), new InetSocketAddress(us.getAddress(), WG_PORT + 1));
            assertEquals("other address", receivePlain(wireguard).text());
            assertEquals("other port", receivePlain(wireguard).text());
            assertEquals("other local port", receivePlain(otherLocal).text());

            long start = System.nanoTime();
            assertEquals(-1, transport.receive(ByteBuffer.allocate(64), Duration.ofMillis(300)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300));

            server.send(utf8("from the server"), us);
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
        // veth MTU 1500: 20 + 8 + 1472 fits exactly.
        byte[] fits = new byte[1472];
        Arrays.fill(fits, (byte) 0x5A);
        transport.send(ByteBuffer.wrap(fits));
        assertArrayEquals(fits, receivePlain(server).bytes());

        IOException e = assertThrows(IOException.class, () -> transport.send(ByteBuffer.allocate(1473)));
        assertTrue(e.getMessage().startsWith("datagram of 1473 bytes does not fit the MTU of the route to"),
                e.getMessage());
    }

    /**
     * The kernel reassembles before raw delivery, so an answer that crossed the wire in fragments
     * reaches the filter whole (its fragment fields cleared) and is accepted.
     */
    @Test
    void fragmentedAnswersArriveReassembled() throws IOException {
        byte[] large = new byte[3000];
        new java.util.Random(7).nextBytes(large);
        server.send(ByteBuffer.wrap(large), transport.localAddress());
        ByteBuffer dst = ByteBuffer.allocate(4096);
        assertEquals(large.length, transport.receive(dst, WAIT));
        assertArrayEquals(large, Arrays.copyOf(dst.array(), dst.position()));
        assertEquals(0, transport.droppedAfterFilter());
    }

    @Test
    void noRouteIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> Privileges.inNamespace(CLIENT_NS,
                () -> RawUdpTransport.open(new InetSocketAddress("203.0.113.5", 3478), WG_PORT)));
        assertTrue(e.getMessage().startsWith("no route to 203.0.113.5:3478: "), e.getMessage());
    }

    static void ip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add("ip");
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + output.trim());
        }
    }
}
