package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.Wire;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The bounded queue in front of the handshake threads: it holds what it was given, refuses what
 * does not fit, and on a real server a burst of initiations beyond it is dropped and counted
 * while lookups keep being answered by the receiving thread.
 */
class HandshakeQueueTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void holdsWhatFitsInOrderAndRefusesTheRest() throws Exception {
        HandshakeQueue q = new HandshakeQueue(2);
        InetSocketAddress a = new InetSocketAddress(LOOPBACK, 1);
        byte[] d = new byte[400];
        for (int i = 0; i < d.length; i++) {
            d[i] = (byte) i;
        }
        assertTrue(q.offer(d, 10, 109, a, null));
        assertTrue(q.offer(d, 20, 365, a, null));
        assertFalse(q.offer(d, 0, 109, a, null), "full");
        HandshakeQueue.Job first = q.take();
        assertEquals(109, first.length);
        assertArrayEquals(Arrays.copyOfRange(d, 10, 119), Arrays.copyOf(first.data, 109));
        assertSame(a, first.source);
        assertFalse(q.offer(d, 0, 109, a, null), "a slot is free only once it is released");
        q.release(first);
        assertTrue(q.offer(d, 30, 109, a, null));
        assertEquals(365, q.take().length);
        assertEquals(30, q.take().data[0]);
    }

    @Test
    void aBurstBeyondTheQueueIsDroppedAndCountedWhileLookupsAreAnswered() throws Exception {
        try (RendezvousServer server = RendezvousServer.builder().bindAddress(LOOPBACK).workerThreads(1)
                .handshakeRateLimit(0, 0).build()) {
            server.start();
            RawPeer client = new RawPeer(KeyPair.generate(), server.publicKey(), server.localAddress());
            try (client; DatagramChannel flood = DatagramChannel.open()) {
                client.handshake(1, 1);
                flood.connect(server.localAddress());
                // Junk initiations of the right length pass the receiving thread's checks and
                // cost the handshake thread a Diffie-Hellman each before they fail.
                SplittableRandom rnd = new SplittableRandom(3);
                byte[] junk = new byte[Wire.INITIATION_LENGTH];
                long sent = 0;
                for (int burst = 0; burst < 20 && server.metrics().drops(DropReason.HANDSHAKE_QUEUE_FULL) == 0; burst++) {
                    for (int i = 0; i < 2000; i++) {
                        rnd.nextBytes(junk);
                        junk[0] = Wire.TYPE_HANDSHAKE_INITIATION;
                        flood.write(ByteBuffer.wrap(junk));
                        sent++;
                    }
                    java.util.Optional<InetSocketAddress> self = client.lookup(client.keys.publicKey());
                    assertTrue(self != null && self.isPresent(), "a lookup is answered while the handshake thread is busy");
                }
                ServerMetrics m = server.metrics();
                assertTrue(m.drops(DropReason.HANDSHAKE_QUEUE_FULL) > 0, "never full after " + sent + ": " + m.drops());
                assertEquals(0, m.drops(DropReason.INTERNAL_ERROR));
            }
        }
    }
}
