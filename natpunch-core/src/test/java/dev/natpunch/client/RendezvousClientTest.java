package dev.natpunch.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.UdpTransport;
import dev.natpunch.server.DropReason;
import dev.natpunch.server.RendezvousServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RendezvousClientTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private RendezvousServer server;
    private InetSocketAddress serverAddress;

    @BeforeEach
    void startServer() throws IOException {
        server = RendezvousServer.builder().bindAddress(LOOPBACK).workerThreads(2).build();
        toClose.add(server);
        server.start();
        serverAddress = server.localAddress();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private static final class StepClock extends Clock {
        volatile Instant now = Instant.parse("2026-03-01T12:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private UdpTransport transport(InetSocketAddress to) throws IOException {
        UdpTransport t = UdpTransport.open(to);
        toClose.add(t);
        return t;
    }

    private RendezvousClient client(KeyPair keys, RendezvousClient.Builder b) {
        RendezvousClient c = b.build();
        toClose.add(c);
        return c;
    }

    @Test
    void findsARegisteredPeerAndReportsAnUnknownOne() throws Exception {
        KeyPair a = KeyPair.generate();
        KeyPair b = KeyPair.generate();
        UdpTransport ta = transport(serverAddress);
        RendezvousClient ca = new RendezvousClient(a, server.publicKey(), ta);
        toClose.add(ca);
        RendezvousClient cb = new RendezvousClient(b, server.publicKey(), transport(serverAddress));
        toClose.add(cb);
        ca.handshake();
        assertEquals(Optional.of(ta.localAddress()), cb.lookup(a.publicKey()));
        assertEquals(Optional.empty(), cb.lookup(KeyPair.generate().publicKey()));
        assertEquals(2, server.metrics().handshakesOk());
    }

    @Test
    void reHandshakesOnceTheSessionReachesTheConfiguredAge() throws Exception {
        StepClock clock = new StepClock();
        KeyPair a = KeyPair.generate();
        RendezvousClient c = client(a, RendezvousClient.builder(a, server.publicKey(), transport(serverAddress)).clock(clock));
        assertTrue(c.lookup(a.publicKey()).isPresent());
        assertEquals(1, server.metrics().handshakesOk());
        clock.now = clock.now.plus(Duration.ofMinutes(5).minusSeconds(1));
        assertTrue(c.lookup(a.publicKey()).isPresent());
        assertEquals(1, server.metrics().handshakesOk());
        clock.now = clock.now.plusSeconds(1);
        assertTrue(c.lookup(a.publicKey()).isPresent());
        assertEquals(2, server.metrics().handshakesOk());
    }

    @Test
    void timestampsStrictlyIncreaseWhenTheClockStandsStill() throws Exception {
        StepClock frozen = new StepClock();
        KeyPair a = KeyPair.generate();
        RendezvousClient c = client(a, RendezvousClient.builder(a, server.publicKey(), transport(serverAddress)).clock(frozen));
        c.handshake();
        c.handshake();
        c.handshake();
        assertEquals(3, server.metrics().handshakesOk());
        assertEquals(0, server.metrics().drops(DropReason.HANDSHAKE_REPLAY));
    }

    @Test
    void aWrongServerKeyEndsInAClearTimeout() throws Exception {
        KeyPair a = KeyPair.generate();
        RendezvousClient c = client(a, RendezvousClient.builder(a, KeyPair.generate().publicKey(), transport(serverAddress))
                .responseTimeout(Duration.ofMillis(300)));
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class, c::handshake);
        assertTrue(e.getMessage().contains("no handshake response from the rendezvous server"), e.getMessage());
        assertTrue(e.getMessage().contains("public key"), e.getMessage());
        assertTrue(e.getMessage().contains("300 ms"), e.getMessage());
        // Version 2 sends the handshake again within the timeout (and falls back to version 1).
        assertTrue(server.metrics().drops(DropReason.HANDSHAKE_INVALID) >= 1);
    }

    @Test
    void aReplayedLookupResponseIsIgnoredAndTheNextCallStartsOver() throws Exception {
        try (ReplayingProxy proxy = new ReplayingProxy(serverAddress)) {
            KeyPair a = KeyPair.generate();
            // Version 1: the proxy replays type 3 answers, which version 2 lookups do not use.
            RendezvousClient c = client(a, RendezvousClient.builder(a, server.publicKey(), transport(proxy.address()))
                    .protocolVersion(1)
                    .responseTimeout(Duration.ofMillis(500)));
            assertTrue(c.lookup(a.publicKey()).isPresent());
            proxy.replayNextLookup = true;
            SocketTimeoutException e = assertThrows(SocketTimeoutException.class, () -> c.lookup(a.publicKey()));
            assertTrue(e.getMessage().contains("no lookup response"), e.getMessage());
            assertEquals(1, proxy.replayed);
            assertTrue(c.lookup(a.publicKey()).isPresent());
            assertEquals(2, server.metrics().handshakesOk(), "the session is discarded after a timeout");
        }
    }

    @Test
    void aClosedClientRefusesWork() throws Exception {
        KeyPair a = KeyPair.generate();
        RendezvousClient c = new RendezvousClient(a, server.publicKey(), transport(serverAddress));
        c.close();
        c.close();
        assertThrows(IllegalStateException.class, () -> c.lookup(a.publicKey()));
    }

    /**
     * Forwards between one client and the server; on request, answers the next lookup with the
     * previous lookup response instead of forwarding it.
     */
    private static final class ReplayingProxy implements AutoCloseable {
        private final DatagramChannel channel = DatagramChannel.open();
        private final InetSocketAddress server;
        private final Thread thread;
        volatile boolean replayNextLookup;
        volatile int replayed;

        ReplayingProxy(InetSocketAddress server) throws IOException {
            this.server = server;
            channel.bind(new InetSocketAddress(LOOPBACK, 0));
            thread = new Thread(this::run, "replaying-proxy");
            thread.start();
        }

        InetSocketAddress address() throws IOException {
            return (InetSocketAddress) channel.getLocalAddress();
        }

        private void run() {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            SocketAddress client = null;
            byte[] lastResponse = null;
            try {
                while (true) {
                    buf.clear();
                    SocketAddress from = channel.receive(buf);
                    buf.flip();
                    byte[] d = new byte[buf.remaining()];
                    buf.get(d);
                    if (from.equals(server)) {
                        if (d.length > 0 && d[0] == 3) {
                            lastResponse = d;
                        }
                        channel.send(ByteBuffer.wrap(d), client);
                    } else {
                        client = from;
                        if (replayNextLookup && d.length > 0 && d[0] == 3 && lastResponse != null) {
                            replayNextLookup = false;
                            replayed++;
                            channel.send(ByteBuffer.wrap(lastResponse), client);
                        } else {
                            channel.send(ByteBuffer.wrap(d), server);
                        }
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
}
