package dev.natpunch.bench.server;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.Wire;
import dev.natpunch.server.RendezvousServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Lookup round trips through a real server over loopback UDP: each benchmark thread is one client
 * with its own socket and session, sending a lookup and waiting for the answer. Client and server
 * share the machine's cores, so this measures the whole path (two sendto, two recvfrom, the
 * server's work and the client's sealing), not the server alone.
 *
 * <pre>java -jar natpunch-bench/target/benchmarks.jar ServerLoopbackBenchmark</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
@Threads(4)
public class ServerLoopbackBenchmark {

    @State(Scope.Benchmark)
    public static class Server {
        RendezvousServer server;
        InetSocketAddress address;
        final Key target = KeyPair.generate().publicKey();

        @Setup(Level.Trial)
        public void start() throws IOException {
            server = RendezvousServer.builder().bindAddress(InetAddress.getLoopbackAddress()).build();
            server.start();
            address = server.localAddress();
        }

        @TearDown(Level.Trial)
        public void stop() {
            server.close();
        }
    }

    @State(Scope.Thread)
    public static class Client {
        final KeyPair keys = KeyPair.generate();
        DatagramChannel channel;
        TransportKeys transport;
        int index;
        long counter;
        final byte[] scratch = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
        final byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        final ByteBuffer outBuf = ByteBuffer.wrap(out);
        final ByteBuffer inBuf = ByteBuffer.allocate(256);

        @Setup(Level.Trial)
        public void handshake(Server s) throws IOException, HandshakeException {
            channel = DatagramChannel.open();
            channel.connect(s.address);
            NoiseHandshake hs = NoiseHandshake.initiator(keys, s.server.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
            int n = HandshakeInitiation.encode(hs, 1, System.currentTimeMillis() * 1_000_000L, scratch, out, 0);
            channel.write(ByteBuffer.wrap(out, 0, n));
            inBuf.clear();
            channel.read(inBuf);
            HandshakeResponse.read(hs, inBuf.array(), 0, scratch);
            index = HandshakeResponse.assignedIndex(inBuf.array(), 0);
            transport = hs.split();
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            channel.close();
        }
    }

    @Benchmark
    public int lookupRoundTrip(Server s, Client c) throws IOException {
        int n = LookupRequest.encode(c.transport.sender(), c.index, c.counter++, c.keys.publicKey(), s.target,
                c.scratch, c.out, 0);
        c.outBuf.clear().limit(n);
        c.channel.write(c.outBuf);
        c.inBuf.clear();
        return c.channel.read(c.inBuf);
    }
}
