package dev.natpunch.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.UdpTransport;
import dev.natpunch.server.RendezvousServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The version 2 client against our version 2 server, over real UDP on loopback. */
class RendezvousClientV2Test {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private RendezvousServer server;

    @BeforeEach
    void startServer() throws IOException {
        server = RendezvousServer.builder().bindAddress(LOOPBACK).workerThreads(2).build();
        toClose.add(server);
        server.start();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private UdpTransport transport(InetSocketAddress to) throws IOException {
        UdpTransport t = UdpTransport.open(to);
        toClose.add(t);
        return t;
    }

    private RendezvousClient client(KeyPair keys, InetSocketAddress to, int version,
                                    RendezvousClient.PushListener push) throws IOException {
        RendezvousClient c = RendezvousClient.builder(keys, server.publicKey(), transport(to))
                .protocolVersion(version).pushListener(push).build();
        toClose.add(c);
        return c;
    }

    @Test
    void negotiatesVersion2AndReportsTheObservedEndpoint() throws Exception {
        KeyPair a = KeyPair.generate();
        UdpTransport t = transport(server.localAddress());
        RendezvousClient c = RendezvousClient.builder(a, server.publicKey(), t).build();
        toClose.add(c);
        c.handshake();
        assertEquals(2, c.protocolVersion());
        assertEquals(t.localAddress(), c.observedEndpoint().orElseThrow());
    }

    /** Our version-1-only server stands in for natpunch-go's: the offer is ignored, everything works in version 1. */
    @Test
    void againstAVersion1ServerTheClientSilentlyStaysOnVersion1() throws Exception {
        try (RendezvousServer v1 = RendezvousServer.builder().bindAddress(LOOPBACK).protocolVersion(1).build()) {
            v1.start();
            KeyPair a = KeyPair.generate();
            KeyPair b = KeyPair.generate();
            UdpTransport ta = transport(v1.localAddress());
            RendezvousClient ca = RendezvousClient.builder(a, v1.publicKey(), ta).build();
            RendezvousClient cb = RendezvousClient.builder(b, v1.publicKey(), transport(v1.localAddress())).build();
            toClose.add(ca);
            toClose.add(cb);
            ca.handshake();
            assertEquals(1, ca.protocolVersion());
            Map<Key, List<PeerEndpoint>> found = cb.lookupAll(List.of(a.publicKey(), KeyPair.generate().publicKey()));
            assertEquals(1, cb.protocolVersion());
            assertEquals(List.of(new PeerEndpoint(PeerEndpoint.Kind.SERVER_REFLEXIVE, ta.localAddress())),
                    found.get(a.publicKey()));
            assertFalse(cb.subscribe(List.of(a.publicKey())), "no push from a version 1 server");
            assertTrue(cb.register(List.of()).isEmpty(), "no registration answer from a version 1 server");
            assertEquals(0, v1.metrics().handshakesV2());
        }
    }

    @Test
    void aVersion1ClientStaysOnVersion1AndStillFindsAVersion2Peer() throws Exception {
        KeyPair a = KeyPair.generate();
        KeyPair b = KeyPair.generate();
        UdpTransport ta = transport(server.localAddress());
        RendezvousClient v2 = RendezvousClient.builder(a, server.publicKey(), ta).build();
        toClose.add(v2);
        v2.handshake();
        RendezvousClient v1 = client(b, server.localAddress(), 1, (k, e) -> { });
        assertEquals(ta.localAddress(), v1.lookup(a.publicKey()).orElseThrow());
        assertEquals(1, v1.protocolVersion());
        assertTrue(v1.observedEndpoint().isEmpty(), "a version 1 session learns nothing of version 2");
    }

    @Test
    void oneHundredPeersResolveInAFewDatagramsSentAtOnce() throws Exception {
        List<Key> peers = new ArrayList<>();
        Map<Key, InetSocketAddress> where = new java.util.HashMap<>();
        for (int i = 0; i < 100; i++) {
            KeyPair p = KeyPair.generate();
            peers.add(p.publicKey());
            // A third registers: the server's per-source handshake burst (40) bounds a loopback test.
            if (i % 3 == 0) {
                UdpTransport t = transport(server.localAddress());
                try (RendezvousClient c = RendezvousClient.builder(p, server.publicKey(), t).protocolVersion(1).build()) {
                    c.handshake();
                    where.put(p.publicKey(), t.localAddress());
                }
            }
        }
        try (CountingProxy proxy = new CountingProxy(server.localAddress())) {
            RendezvousClient c = client(KeyPair.generate(), proxy.address(), 2, (k, e) -> { });
            c.handshake();
            int before = proxy.toServer.get();
            long requestsBefore = c.requestsMade();
            Map<Key, List<PeerEndpoint>> found = c.lookupAll(peers);
            int datagrams = proxy.toServer.get() - before;
            long requests = c.requestsMade() - requestsBefore;
            assertEquals(100, found.size());
            for (Key k : peers) {
                InetSocketAddress expected = where.get(k);
                List<PeerEndpoint> eps = found.get(k);
                if (expected == null) {
                    assertTrue(eps.isEmpty(), "unregistered peer reported: " + eps);
                } else {
                    assertEquals(List.of(new PeerEndpoint(PeerEndpoint.Kind.SERVER_REFLEXIVE, expected)), eps);
                }
            }
            // 27 keys per datagram when peers may be dual-stack (protocol-v2.md 6.1): 4 requests,
            // sent at once; a loaded machine may add retransmissions, which the proxy also counts.
            assertEquals(4, requests, "lookup requests for 100 peers");
            assertTrue(datagrams >= 4 && datagrams <= 4 * 5, datagrams + " datagrams for 4 requests");
        }
    }

    @Test
    void aSubscriberHearsOfAPeerThatRegistersLaterWithoutAsking() throws Exception {
        KeyPair a = KeyPair.generate();
        KeyPair b = KeyPair.generate();
        BlockingQueue<Map.Entry<Key, List<PeerEndpoint>>> pushes = new LinkedBlockingQueue<>();
        RendezvousClient ca = client(a, server.localAddress(), 2, (k, e) -> pushes.add(Map.entry(k, e)));
        assertTrue(ca.subscribe(List.of(b.publicKey())));
        assertTrue(ca.lookupAll(List.of(b.publicKey())).get(b.publicKey()).isEmpty());
        UdpTransport tb = transport(server.localAddress());
        RendezvousClient cb = RendezvousClient.builder(b, server.publicKey(), tb).build();
        toClose.add(cb);
        cb.handshake();
        Map.Entry<Key, List<PeerEndpoint>> push = pushes.poll(10, TimeUnit.SECONDS);
        assertTrue(push != null, "no push arrived");
        assertEquals(b.publicKey(), push.getKey());
        assertEquals(List.of(new PeerEndpoint(PeerEndpoint.Kind.SERVER_REFLEXIVE, tb.localAddress())), push.getValue());
    }

    @Test
    void localCandidatesReachPeersThatAsk() throws Exception {
        KeyPair a = KeyPair.generate();
        UdpTransport ta = transport(server.localAddress());
        RendezvousClient ca = RendezvousClient.builder(a, server.publicKey(), ta).build();
        toClose.add(ca);
        InetSocketAddress lan = new InetSocketAddress(InetAddress.getByName("100.64.7.2"), 51820);
        assertEquals(ta.localAddress(), ca.register(List.of(lan)).orElseThrow());
        RendezvousClient cb = client(KeyPair.generate(), server.localAddress(), 2, (k, e) -> { });
        List<PeerEndpoint> eps = cb.lookupAll(List.of(a.publicKey())).get(a.publicKey());
        assertTrue(eps.contains(new PeerEndpoint(PeerEndpoint.Kind.LOCAL, lan)), eps.toString());
        assertTrue(eps.contains(new PeerEndpoint(PeerEndpoint.Kind.SERVER_REFLEXIVE, ta.localAddress())), eps.toString());
        RendezvousClient v1 = client(KeyPair.generate(), server.localAddress(), 1, (k, e) -> { });
        assertEquals(ta.localAddress(), v1.lookup(a.publicKey()).orElseThrow(), "version 1 sees the public endpoint only");
    }

    @Test
    void theServerAddressesIncludeTheOneWeTalkTo() throws Exception {
        RendezvousClient c = client(KeyPair.generate(), server.localAddress(), 2, (k, e) -> { });
        assertTrue(c.serverAddresses().contains(server.localAddress()), c.serverAddresses().toString());
        RendezvousClient v1 = client(KeyPair.generate(), server.localAddress(), 1, (k, e) -> { });
        assertTrue(v1.serverAddresses().isEmpty());
        assertFalse(v1.subscribe(List.of(KeyPair.generate().publicKey())), "version 1 has no push");
    }

    @Test
    void aRelayPairIsGrantedOnceBothSidesAskAndForwardsBetweenTheBoundSockets() throws Exception {
        int first = java.util.concurrent.ThreadLocalRandom.current().nextInt(20_000, 30_000);
        try (dev.natpunch.relay.Relay relay = dev.natpunch.relay.Relay.builder().address(LOOPBACK)
                .portRange(first, first + 9).build()) {
            relay.start();
            RendezvousServer withRelay = RendezvousServer.builder().bindAddress(LOOPBACK).relay(relay).build();
            toClose.add(withRelay);
            withRelay.start();
            KeyPair a = KeyPair.generate();
            KeyPair b = KeyPair.generate();
            RendezvousClient ca = RendezvousClient.builder(a, withRelay.publicKey(), transport(withRelay.localAddress())).build();
            RendezvousClient cb = RendezvousClient.builder(b, withRelay.publicKey(), transport(withRelay.localAddress())).build();
            toClose.add(ca);
            toClose.add(cb);
            // Both registered: a request for a key the server does not know is never recorded.
            ca.handshake();
            cb.handshake();
            assertTrue(ca.relay(b.publicKey()).isEmpty(), "pending until b asks too");
            RendezvousClient.RelayGrant gb = cb.relay(a.publicKey()).orElseThrow();
            RendezvousClient.RelayGrant ga = ca.relay(b.publicKey()).orElseThrow();
            assertFalse(ga.endpoint().equals(gb.endpoint()), "one port facing each side");
            assertEquals(20, ga.bindDatagram().length);
            try (DatagramChannel sa = DatagramChannel.open().bind(new InetSocketAddress(LOOPBACK, 0));
                 DatagramChannel sb = DatagramChannel.open().bind(new InetSocketAddress(LOOPBACK, 0))) {
                sa.send(ByteBuffer.wrap(ga.bindDatagram()), ga.endpoint());
                sb.send(ByteBuffer.wrap(gb.bindDatagram()), gb.endpoint());
                // A WireGuard-like datagram (type 4, three zero bytes) goes through unchanged.
                byte[] payload = {4, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
                sb.configureBlocking(false);
                ByteBuffer in = ByteBuffer.allocate(64);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (sb.receive(in) == null && System.nanoTime() < end) {
                    sa.send(ByteBuffer.wrap(payload), ga.endpoint());
                    Thread.sleep(50);
                }
                in.flip();
                byte[] got = new byte[in.remaining()];
                in.get(got);
                assertTrue(java.util.Arrays.equals(payload, got), java.util.Arrays.toString(got));
            }
            cb.releaseRelay(a.publicKey());
        }
    }

    /** Forwards between clients and the server and counts the datagrams toward the server. */
    static final class CountingProxy implements AutoCloseable {
        private final DatagramChannel channel = DatagramChannel.open();
        private final InetSocketAddress server;
        private final Thread thread;
        final AtomicInteger toServer = new AtomicInteger();

        CountingProxy(InetSocketAddress server) throws IOException {
            this.server = server;
            channel.bind(new InetSocketAddress(LOOPBACK, 0));
            thread = new Thread(this::run, "counting-proxy");
            thread.start();
        }

        InetSocketAddress address() throws IOException {
            return (InetSocketAddress) channel.getLocalAddress();
        }

        private void run() {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            SocketAddress client = null;
            try {
                while (true) {
                    buf.clear();
                    SocketAddress from = channel.receive(buf);
                    buf.flip();
                    if (from.equals(server)) {
                        channel.send(buf, client);
                    } else {
                        client = from;
                        toServer.incrementAndGet();
                        channel.send(buf, server);
                    }
                }
            } catch (IOException closed) {
                // the test is over
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * INTEREST: a client that asked to hear of lookups and follows nobody is told of the key that
     * looks it up (version 1 or 2), once; one that did not ask is told nothing.
     */
    @Test
    void aClientWaitingWithNoSubscriptionsIsToldWhoLooksItUp() throws Exception {
        KeyPair b = KeyPair.generate();
        BlockingQueue<Map.Entry<Key, List<PeerEndpoint>>> told = new LinkedBlockingQueue<>();
        RendezvousClient waiting = RendezvousClient.builder(b, server.publicKey(), transport(server.localAddress()))
                .pushListener((k, e) -> told.add(Map.entry(k, e))).hearOfLookups(true).build();
        toClose.add(waiting);
        waiting.register(List.of(new InetSocketAddress("100.64.0.2", 51820)));
        assertTrue(waiting.subscribe(List.of()), "a pushing server");
        KeyPair c = KeyPair.generate();
        BlockingQueue<Key> toldC = new LinkedBlockingQueue<>();
        RendezvousClient deaf = client(c, server.localAddress(), 2, (k, e) -> toldC.add(k));
        deaf.subscribe(List.of());

        KeyPair a = KeyPair.generate();
        UdpTransport ta = transport(server.localAddress());
        RendezvousClient looker = RendezvousClient.builder(a, server.publicKey(), ta).protocolVersion(1).build();
        toClose.add(looker);
        looker.lookup(b.publicKey());
        looker.lookup(c.publicKey());
        Map.Entry<Key, List<PeerEndpoint>> e = told.poll(5, TimeUnit.SECONDS);
        assertTrue(e != null, "not told that a version 1 client looked us up");
        assertEquals(a.publicKey(), e.getKey());
        assertEquals(List.of(new PeerEndpoint(PeerEndpoint.Kind.SERVER_REFLEXIVE, ta.localAddress())), e.getValue());
        looker.lookup(b.publicKey());
        assertEquals(null, told.poll(1500, TimeUnit.MILLISECONDS), "told twice about the same endpoint");
        assertEquals(null, toldC.poll(), "told without asking");
    }
}
