package dev.natpunch.bench.load;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;

/**
 * One simulated rendezvous client: its own key pair and its own UDP socket (so its own source
 * port, as the server registers clients by source address), its session after the handshake, and
 * what it has in flight. Driven by exactly one {@link Driver} thread.
 */
final class SimClient {
    static final long FREE = Long.MIN_VALUE;

    final int index;
    final KeyPair keys;
    final Key publicKey;
    final DatagramChannel channel;
    final int port;
    /** Position in its driver's share. */
    int localIndex;

    // Session (lookups): from a real handshake, or made up for the echo server.
    CipherState sender;
    CipherState receiver;
    int sessionIndex;
    long sendCounter;

    /**
     * Lookups in flight, by slot: slot s asks for peer {@code index + 1 + s} (mod clients), so the
     * port in the answer tells which request it answers even when answers are reordered or lost.
     * The value is the intended send time in System.nanoTime(), FREE when the slot is idle.
     */
    final long[] slotSent;
    int nextSlot;

    // Handshakes: pre-built initiations (message 1), and for a sample the initiator that checks message 2.
    byte[][] pool;
    NoiseHandshake[] poolCheck;
    int poolNext;
    long hsSent = FREE;
    NoiseHandshake hsPending;

    SimClient(int index, KeyPair keys, InetAddress bindAddress, InetSocketAddress target, int slots)
            throws IOException {
        this.index = index;
        this.keys = keys;
        this.publicKey = keys.publicKey();
        DatagramChannel ch = DatagramChannel.open(java.net.StandardProtocolFamily.INET);
        try {
            ch.bind(new InetSocketAddress(bindAddress, 0));
            // Connected: the kernel filters other sources, and read/write allocate no address objects.
            ch.connect(target);
            ch.configureBlocking(false);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        this.channel = ch;
        this.port = ((InetSocketAddress) ch.getLocalAddress()).getPort();
        this.slotSent = new long[slots];
        Arrays.fill(slotSent, FREE);
    }

    boolean hasPooledHandshake() {
        return pool != null && poolNext < pool.length;
    }

    void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a UDP socket of a finished run; nothing to do about a failure.
        }
    }
}
