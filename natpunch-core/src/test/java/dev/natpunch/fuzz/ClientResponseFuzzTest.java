package dev.natpunch.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.natpunch.client.RendezvousClient;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.Wire;
import dev.natpunch.server.InternalPacketHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Fuzz target for the client's response handling: a real server (the packet handler without a
 * socket) answers the client, and the fuzzer decides, around every genuine answer, which forged
 * datagrams arrive (arbitrary bytes, corrupted, truncated or replayed genuine answers) and whether
 * the genuine answer arrives at all. Invariant: {@link RendezvousClient#lookup} either returns
 * exactly what the server knows or throws an IOException (a timeout); it never throws anything
 * else and never returns an answer a forged datagram made up.
 */
class ClientResponseFuzzTest {
    private static final InetSocketAddress SERVER;
    private static final InetSocketAddress CLIENT_AT;
    private static final InetSocketAddress PEER_AT;
    private static final Key STRANGER = KeyPair.generate().publicKey();
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-25T12:00:00Z"), ZoneOffset.UTC);

    static {
        try {
            SERVER = new InetSocketAddress(InetAddress.getByName("198.18.0.100"), 12345);
            CLIENT_AT = new InetSocketAddress(InetAddress.getByName("198.18.0.5"), 51820);
            PEER_AT = new InetSocketAddress(InetAddress.getByName("198.18.0.7"), 4242);
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The path to the server, with the fuzzer as an attacker on it. */
    private static final class HostilePath implements DatagramTransport {
        final InternalPacketHandler server;
        final FuzzedDataProvider data;
        final ArrayDeque<byte[]> arriving = new ArrayDeque<>();
        final List<byte[]> genuine = new ArrayList<>();
        final byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];

        HostilePath(InternalPacketHandler server, FuzzedDataProvider data) {
            this.server = server;
            this.data = data;
        }

        @Override
        public InetSocketAddress server() {
            return SERVER;
        }

        @Override
        public synchronized void send(ByteBuffer datagram) {
            byte[] in = new byte[datagram.remaining()];
            datagram.get(in);
            int n = server.handle(in, 0, in.length, CLIENT_AT, out, 0);
            byte[] answer = n > 0 ? Arrays.copyOf(out, n) : null;
            forge(data.consumeInt(0, 3), answer);
            if (answer != null && data.consumeInt(0, 7) != 0) {
                arriving.add(answer);
            }
            forge(data.consumeInt(0, 2), answer);
            if (answer != null) {
                genuine.add(answer);
            }
        }

        private void forge(int count, byte[] answer) {
            for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
                byte[] model = answer != null ? answer : genuine.isEmpty() ? null : genuine.get(genuine.size() - 1);
                int kind = data.consumeInt(0, 4);
                if (kind == 0 || model == null) {
                    arriving.add(data.consumeBytes(data.consumeInt(0, 64)));
                } else if (kind == 1) {
                    byte[] d = model.clone();
                    d[data.consumeInt(0, d.length - 1)] ^= (byte) data.consumeInt(1, 255);
                    arriving.add(d);
                } else if (kind == 2) {
                    arriving.add(Arrays.copyOf(model, data.consumeInt(0, model.length + 8)));
                } else if (kind == 3 && !genuine.isEmpty()) {
                    arriving.add(genuine.get(data.consumeInt(0, genuine.size() - 1)).clone());
                } else {
                    byte[] d = model.clone();
                    byte[] tail = data.consumeBytes(d.length - 1);
                    System.arraycopy(tail, 0, d, 1, tail.length);
                    arriving.add(d);
                }
            }
        }

        @Override
        public int receive(ByteBuffer dst, Duration timeout) {
            byte[] d;
            synchronized (this) {
                d = arriving.poll();
            }
            if (d == null) {
                // The client's receive thread polls; waiting a little keeps it from spinning.
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return -1;
            }
            int n = Math.min(d.length, dst.remaining());
            dst.put(d, 0, n);
            return n;
        }

        @Override
        public void close() {
        }
    }

    @FuzzTest(maxDuration = "60s")
    void lookupUnderAttack(FuzzedDataProvider data) throws IOException {
        InternalPacketHandler server = InternalPacketHandler.create(FuzzKeys.SERVER, CLOCK);
        register(server, FuzzKeys.PEER, PEER_AT);
        HostilePath path = new HostilePath(server, data);
        try (RendezvousClient client = RendezvousClient.builder(FuzzKeys.CLIENT, FuzzKeys.SERVER.publicKey(), path)
                .clock(CLOCK).responseTimeout(Duration.ofMillis(100)).build()) {
            for (int i = 0; i < 8 && data.remainingBytes() > 0; i++) {
                int which = data.consumeInt(0, 3);
                try {
                    if (which == 3) {
                        client.handshake();
                        continue;
                    }
                    Key target = which == 0 ? FuzzKeys.PEER.publicKey() : which == 1 ? FuzzKeys.CLIENT.publicKey() : STRANGER;
                    Optional<InetSocketAddress> expected = which == 0 ? Optional.of(PEER_AT)
                            : which == 1 ? Optional.of(CLIENT_AT) : Optional.empty();
                    assertEquals(expected, client.lookup(target));
                } catch (IOException e) {
                    // A timeout: the genuine answer was held back, or only forgeries arrived.
                    assertTrue(e instanceof java.net.SocketTimeoutException, e.toString());
                }
            }
        }
    }

    /** Registers {@code keys} at {@code at} with a real handshake (its answer is not needed). */
    private static void register(InternalPacketHandler server, KeyPair keys, InetSocketAddress at) {
        NoiseHandshake hs = NoiseHandshake.initiator(keys, FuzzKeys.SERVER.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, 1, 1, new byte[8], m1, 0);
        if (server.handle(m1, 0, m1.length, at, new byte[Wire.MAX_MESSAGE_LENGTH], 0) != Wire.RESPONSE_LENGTH) {
            throw new IllegalStateException("the peer's registration failed");
        }
    }
}
