package dev.natpunch.bench.server;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.server.InternalPacketHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The server's registry under contention, without the cryptography around it: 100,000 registered
 * keys, looked up by threads that each pick keys at random (the registry's part of a lookup:
 * find the key by its 32 bytes, read its endpoint), alone and mixed with threads that register
 * (the registry's part of a handshake: find or create the key, record its endpoint, which here
 * moves almost every time, so that a registration takes the key's lock and makes a new endpoint-set
 * version). Lookups must not allocate; a registration that moves allocates only for the change it
 * announces.
 *
 * <pre>java -jar natpunch-bench/target/benchmarks.jar RegistryBenchmark -prof gc</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RegistryBenchmark {
    private static final int KEYS = 100_000;

    /** The registry and its keys, shared by every thread. */
    @State(Scope.Benchmark)
    public static class Shared {
        InternalPacketHandler handler;
        final byte[] keys = new byte[KEYS * 32];
        final InetSocketAddress[] sources = new InetSocketAddress[256];

        @Setup(Level.Trial)
        public void setUp() throws UnknownHostException {
            new SplittableRandom(1).nextBytes(keys);
            for (int i = 0; i < sources.length; i++) {
                sources[i] = new InetSocketAddress(InetAddress.getByAddress(new byte[] {(byte) 198, 18, 1, (byte) i}),
                        40000 + i);
            }
            handler = InternalPacketHandler.create(KeyPair.generate(), Clock.systemUTC());
            for (int i = 0; i < KEYS; i++) {
                if (!handler.register(keys, i * 32, sources[i % sources.length])) {
                    throw new IllegalStateException("registry full at " + i);
                }
            }
        }
    }

    /** One thread's random choices and its own view of the handler. */
    @State(Scope.Thread)
    public static class Mine {
        final SplittableRandom random = new SplittableRandom();
        InternalPacketHandler handler;
        int source;

        @Setup(Level.Trial)
        public void setUp(Shared shared) {
            handler = shared.handler.forAnotherThread();
        }
    }

    @Benchmark
    @Threads(2)
    public boolean lookups(Shared shared, Mine mine) {
        return lookup(shared, mine);
    }

    @Benchmark
    @Group("mixed")
    @GroupThreads(3)
    public boolean mixedLookups(Shared shared, Mine mine) {
        return lookup(shared, mine);
    }

    @Benchmark
    @Group("mixed")
    @GroupThreads(1)
    public boolean mixedRegistrations(Shared shared, Mine mine) {
        int k = mine.random.nextInt(KEYS);
        mine.source = (mine.source + 1) % shared.sources.length;
        return mine.handler.register(shared.keys, k * 32, shared.sources[mine.source]);
    }

    private static boolean lookup(Shared shared, Mine mine) {
        return mine.handler.isRegistered(shared.keys, mine.random.nextInt(KEYS) * 32);
    }
}
