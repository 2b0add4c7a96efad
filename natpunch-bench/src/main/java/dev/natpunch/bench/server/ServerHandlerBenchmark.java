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
import dev.natpunch.server.InternalPacketHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The rendezvous server's packet handler without a socket: what one lookup and one handshake cost
 * on the server. Every lookup needs a fresh counter (the server drops replays), so each operation
 * also seals the request as a client would; {@link #clientSealLookupOnly} and
 * {@link #clientWriteInitiationOnly} measure that client-side part alone, to be subtracted.
 *
 * <p>Run with {@code -prof gc} to see allocation per operation. INFO logging of each lookup is
 * switched off in the forked JVM, as the handler only allocates for it when it is on.
 *
 * <pre>java -jar natpunch-bench/target/benchmarks.jar ServerHandlerBenchmark -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
public class ServerHandlerBenchmark {
    private final KeyPair serverKeys = KeyPair.generate();
    private final KeyPair requesterKeys = KeyPair.generate();
    private final KeyPair targetKeys = KeyPair.generate();
    private final Key target = targetKeys.publicKey();
    private final Key unknown = KeyPair.generate().publicKey();
    private final InetSocketAddress requesterAddress = address(1);

    private InternalPacketHandler handler;
    private TransportKeys requester;
    private int requesterIndex;
    private long counter;
    private long timestamp;

    private final byte[] request = new byte[Wire.MAX_MESSAGE_LENGTH];
    private final byte[] response = new byte[Wire.MAX_MESSAGE_LENGTH];
    private final byte[] scratch = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];

    private static InetSocketAddress address(int last) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(new byte[] {(byte) 198, 18, 0, (byte) last}), 51820);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Setup
    public void setUp() throws HandshakeException {
        handler = InternalPacketHandler.create(serverKeys, Clock.systemUTC());
        timestamp = System.currentTimeMillis() * 1_000_000L;
        register(targetKeys, address(2));
        requester = register(requesterKeys, requesterAddress);
    }

    private TransportKeys register(KeyPair keys, InetSocketAddress from) throws HandshakeException {
        NoiseHandshake hs = NoiseHandshake.initiator(keys, serverKeys.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        int n = HandshakeInitiation.encode(hs, 42, ++timestamp, scratch, request, 0);
        int m = handler.handle(request, 0, n, from, response, 0);
        if (m != Wire.RESPONSE_LENGTH) {
            throw new IllegalStateException("handshake not answered: " + handler.metrics());
        }
        HandshakeResponse.read(hs, response, 0, scratch);
        requesterIndex = HandshakeResponse.assignedIndex(response, 0);
        counter = 0;
        return hs.split();
    }

    @Benchmark
    public int lookupFound() {
        int n = LookupRequest.encode(requester.sender(), requesterIndex, counter++, requesterKeys.publicKey(), target,
                scratch, request, 0);
        return handler.handle(request, 0, n, requesterAddress, response, 0);
    }

    @Benchmark
    public int lookupNotFound() {
        int n = LookupRequest.encode(requester.sender(), requesterIndex, counter++, requesterKeys.publicKey(), unknown,
                scratch, request, 0);
        return handler.handle(request, 0, n, requesterAddress, response, 0);
    }

    @Benchmark
    public int clientSealLookupOnly() {
        return LookupRequest.encode(requester.sender(), requesterIndex, counter++, requesterKeys.publicKey(), target,
                scratch, request, 0);
    }

    @Benchmark
    public int handshake() {
        NoiseHandshake hs = NoiseHandshake.initiator(requesterKeys, serverKeys.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        int n = HandshakeInitiation.encode(hs, 42, ++timestamp, scratch, request, 0);
        return handler.handle(request, 0, n, requesterAddress, response, 0);
    }

    @Benchmark
    public int clientWriteInitiationOnly() {
        NoiseHandshake hs = NoiseHandshake.initiator(requesterKeys, serverKeys.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        return HandshakeInitiation.encode(hs, 42, ++timestamp, scratch, request, 0);
    }
}
