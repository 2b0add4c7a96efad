package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.ErrorMessage;
import dev.natpunch.protocol.v2.Probe;
import dev.natpunch.protocol.v2.Registration;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.ServerInfo;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Several listen addresses (IPv4 and IPv6 loopback sockets, one session table) and NAT probing
 * from a probe port and a second address, over real UDP.
 */
class DualStackProbeTest {
    private static final InetAddress V4 = InetAddress.getLoopbackAddress();
    private static final Capabilities OFFER = Capabilities.offer(2, V2Wire.FEATURES_V2);
    private static final int WANT = V2Wire.WANT_IPV4 | V2Wire.WANT_IPV6 | V2Wire.WANT_SERVER_REFLEXIVE;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private UdpRendezvousServer start(RendezvousServer.Builder b) throws IOException {
        UdpRendezvousServer server = (UdpRendezvousServer) b.clock(clock).workerThreads(2).build();
        toClose.add(server);
        server.start();
        return server;
    }

    private V2Peer peer(RendezvousServer server, InetSocketAddress to) throws IOException {
        V2Peer p = new V2Peer(KeyPair.generate(), server.publicKey(), to);
        toClose.add(p);
        return p;
    }

    private static InetAddress v6() throws IOException {
        InetAddress v6 = InetAddress.getByName("::1");
        try (DatagramChannel probe = DatagramChannel.open()) {
            probe.bind(new InetSocketAddress(v6, 0));
        } catch (IOException unavailable) {
            Assumptions.assumeTrue(false, "no IPv6 loopback on this machine");
        }
        return v6;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private static byte[] info(V2Peer p) throws IOException {
        byte[] plain = new byte[7];
        ServerInfo.writeRequest(plain, 0, 1);
        byte[] r = p.request(plain, 7, 188);
        assertEquals(V2Wire.KIND_INFO_RESULT, Sealed.kind(r, 0));
        return r;
    }

    private static List<WireEndpoint> infoEndpoints(byte[] r) {
        List<WireEndpoint> out = new ArrayList<>();
        for (int i = 0; i < ServerInfo.endpointCount(r, 0); i++) {
            out.add(WireEndpoint.read(r, ServerInfo.endpointOffset(0, i)));
        }
        return out;
    }

    private static WireEndpoint ep(WireEndpoint.Kind kind, InetSocketAddress a) {
        return new WireEndpoint(kind, a.getAddress(), a.getPort());
    }

    private static byte[] register(V2Peer p) throws IOException {
        byte[] plain = new byte[8];
        int n = Registration.writeRequest(plain, 0, 2, false, List.of());
        return p.request(plain, n, 56);
    }

    @Test
    void aClientRegistersBothFamiliesOnOneSessionAndPeersSeeBoth() throws Exception {
        InetAddress v6 = v6();
        UdpRendezvousServer server = start(RendezvousServer.builder()
                .listen(new InetSocketAddress(V4, 0), new InetSocketAddress(v6, 0)));
        List<InetSocketAddress> at = server.localAddresses();
        assertEquals(2, at.size());
        assertEquals(at.get(0), server.localAddress());

        V2Peer b = peer(server, at.get(0));
        b.handshake(1, 1, OFFER);
        assertEquals(List.of(ep(WireEndpoint.Kind.SERVER_PRIMARY, at.get(0)), ep(WireEndpoint.Kind.SERVER_PRIMARY, at.get(1))),
                infoEndpoints(info(b)), "INFO lists both listen addresses");
        InetSocketAddress b4 = b.localAddress();
        clock.advance(Duration.ofSeconds(1));
        b.moveTo(at.get(1));
        byte[] r = register(b);
        InetSocketAddress b6 = b.localAddress();
        assertEquals(ep(WireEndpoint.Kind.SERVER_REFLEXIVE, b6), WireEndpoint.read(r, Registration.observedOffset(0)));

        V2Peer c = peer(server, at.get(0));
        c.handshake(1, 1, OFFER);
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = BatchLookup.writeRequest(plain, 0, 3, WANT, new Key[] {b.keys.publicKey()}, 0, 1);
        byte[] result = c.request(plain, n, V2Wire.MAX_DATAGRAM);
        int e = BatchLookup.firstEntry(0);
        assertEquals(2, BatchLookup.entryEndpointCount(result, e));
        assertEquals(ep(WireEndpoint.Kind.SERVER_REFLEXIVE, b6), WireEndpoint.read(result, BatchLookup.entryEndpoint(e, 0)),
                "the most recently refreshed family first");
        assertEquals(ep(WireEndpoint.Kind.SERVER_REFLEXIVE, b4), WireEndpoint.read(result, BatchLookup.entryEndpoint(e, 1)));

        // Type 3 still answers IPv4 only, with b's IPv4 endpoint.
        byte[] v1 = c.lookupV1(b.keys.publicKey());
        byte[] ip = new byte[6];
        assertEquals(6, c.openV1(v1, ip));
        assertEquals(b4.getPort(), Wire.readUnsignedShort(ip, 4));

        // Pushes go to the return address through the socket of its family: c moves to IPv6.
        c.moveTo(at.get(1));
        n = Subscription.writeRequest(plain, 0, 4, Subscription.OP_REPLACE, WANT, new Key[] {b.keys.publicKey()}, 0, 1);
        assertNotNull(c.request(plain, n, V2Wire.MAX_DATAGRAM));
        b.handshake(1, 2, OFFER); // from IPv6 now: b's IPv6 endpoint is refreshed, a new handshake
        V2Peer d = peer(server, at.get(0));
        d.handshake(1, 1, OFFER);
        b.moveTo(at.get(0)); // b moves its IPv4 endpoint: a change
        register(b);
        byte[] push = c.open(c.receive());
        assertEquals(V2Wire.KIND_PUSH_UPDATE, Sealed.kind(push, 0));
        assertEquals(at.get(1), c.lastFrom, "pushed from the IPv6 socket");
    }

    @Test
    void probesAreAnsweredFromTheSocketTheFlagsNameAndNeverRegister() throws Exception {
        InetAddress alt = InetAddress.getByName("127.0.0.2");
        UdpRendezvousServer server = start(RendezvousServer.builder().listen(new InetSocketAddress(V4, 0))
                .probePort(freePort()).alternateAddress(alt));
        List<BoundSocket> sockets = server.sockets();
        assertEquals(4, sockets.size());
        InetSocketAddress primary = sockets.get(0).local();
        V2Peer p = peer(server, primary);
        assertTrue(p.handshake(1, 1, OFFER).has(V2Wire.FEATURE_NAT_PROBE));
        List<WireEndpoint> listed = infoEndpoints(info(p));
        assertEquals(4, listed.size());

        WireEndpoint.Kind[] kinds = {WireEndpoint.Kind.SERVER_PRIMARY, WireEndpoint.Kind.SERVER_ALT_PORT,
            WireEndpoint.Kind.SERVER_ALT_ADDRESS, WireEndpoint.Kind.SERVER_ALT_BOTH};
        for (int flags = 0; flags < 4; flags++) {
            byte[] r = probe(p, primary, flags);
            assertEquals(V2Wire.KIND_PROBE_RESULT, Sealed.kind(r, 0));
            BoundSocket from = sockets.get(flags);
            assertEquals(kinds[flags], from.kind());
            assertEquals(from.local(), p.lastFrom, "flags " + flags);
            assertEquals(ep(kinds[flags], from.local()), WireEndpoint.read(r, Probe.originOffset(0)));
            assertEquals(ep(WireEndpoint.Kind.SERVER_REFLEXIVE, p.localAddress()), WireEndpoint.read(r, Probe.mappedOffset(0)));
        }
        // Sent to the probe port itself, from a new local port: answered there, and it registers nothing.
        InetSocketAddress before = p.localAddress();
        p.moveTo(primary);
        byte[] r = probe(p, sockets.get(1).local(), 0);
        assertEquals(sockets.get(1).local(), p.lastFrom);
        assertEquals(ep(WireEndpoint.Kind.SERVER_REFLEXIVE, p.localAddress()), WireEndpoint.read(r, Probe.mappedOffset(0)));
        assertEquals(before, Endpoint.address4(server.handler().registry.find(p.keys.publicKey().toBytes(), 0).endpoint4),
                "a probe socket never moves a registration");

        // Only PROBE on probe sockets.
        long dropped = server.metrics().drops(DropReason.PROBE_SOCKET);
        byte[] reg = new byte[8];
        Registration.writeRequest(reg, 0, 5, false, List.of());
        p.sendTo(p.seal(reg, 8, 56), sockets.get(1).local());
        p.sendTo(p.seal(reg, 8, 56), sockets.get(2).local());
        byte[] hs = new byte[Wire.INITIATION_LENGTH];
        hs[0] = Wire.TYPE_HANDSHAKE_INITIATION;
        p.sendTo(hs, sockets.get(3).local());
        await(() -> server.metrics().drops(DropReason.PROBE_SOCKET) == dropped + 3, "three PROBE_SOCKET drops");
    }

    @Test
    void probesTheServerCannotServeGetUnavailableAndTheRateIsLimited() throws Exception {
        UdpRendezvousServer server = start(RendezvousServer.builder().listen(new InetSocketAddress(V4, 0))
                .probePort(freePort()));
        InetSocketAddress primary = server.localAddress();
        V2Peer p = peer(server, primary);
        p.handshake(1, 1, OFFER);
        byte[] r = probe(p, primary, Probe.FLAG_CHANGE_ADDRESS);
        assertEquals(V2Wire.KIND_ERROR, Sealed.kind(r, 0));
        assertEquals(ErrorMessage.UNAVAILABLE, ErrorMessage.code(r, 0));
        assertEquals(primary, p.lastFrom, "the error comes from the arrival socket");
        for (int i = 1; i < Session.PROBES_PER_SECOND; i++) {
            assertEquals(V2Wire.KIND_PROBE_RESULT, Sealed.kind(probe(p, primary, Probe.FLAG_CHANGE_PORT), 0));
        }
        r = probe(p, primary, 0); // the frozen clock keeps all of them in one second
        assertEquals(ErrorMessage.RATE_LIMITED, ErrorMessage.code(r, 0));
        clock.advance(Duration.ofSeconds(1));
        assertEquals(V2Wire.KIND_PROBE_RESULT, Sealed.kind(probe(p, primary, 0), 0));

        // A server without a probe port does not offer NAT_PROBE: PROBE is unsupported.
        UdpRendezvousServer plain = start(RendezvousServer.builder().bindAddress(V4));
        V2Peer q = peer(plain, plain.localAddress());
        assertTrue(!q.handshake(1, 1, OFFER).has(V2Wire.FEATURE_NAT_PROBE));
        r = probe(q, plain.localAddress(), 0);
        assertEquals(ErrorMessage.UNSUPPORTED, ErrorMessage.code(r, 0));
    }

    @Test
    void theProbePortIsNeverTheRendezvousPort() {
        assertThrows(IllegalArgumentException.class,
                () -> RendezvousServer.builder().listen(new InetSocketAddress(V4, 4000)).probePort(4000).build());
        assertThrows(IllegalArgumentException.class, () -> RendezvousServer.builder().port(4001).probePort(4001).build());
        assertThrows(IllegalArgumentException.class, () -> RendezvousServer.builder()
                .alternateAddress(InetAddress.getLoopbackAddress(), InetAddress.getLoopbackAddress()));
    }

    private static byte[] probe(V2Peer p, InetSocketAddress to, int flags) throws IOException {
        byte[] plain = new byte[8];
        Probe.writeRequest(plain, 0, 40 + flags, flags);
        p.sendTo(p.seal(plain, 8, 74), to);
        byte[] r = p.open(p.receive());
        assertNotNull(r, "no answer to the probe");
        assertEquals(40 + flags, Sealed.id(r, 0));
        return r;
    }

    private static int freePort() throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress(V4, 0));
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }

    @Test
    void aDatagramToAnUnknownSessionOnAnySocketIsDropped() throws Exception {
        InetAddress v6 = v6();
        UdpRendezvousServer server = start(RendezvousServer.builder()
                .listen(new InetSocketAddress(V4, 0), new InetSocketAddress(v6, 0)));
        V2Peer p = peer(server, server.localAddresses().get(1));
        p.setReceiveTimeout(300);
        byte[] junk = new byte[100];
        junk[0] = V2Wire.TYPE_SEALED_TO_SERVER;
        p.send(junk);
        await(() -> server.metrics().drops(DropReason.UNKNOWN_SESSION) == 1, "the drop");
        assertNull(p.receive());
    }
}
