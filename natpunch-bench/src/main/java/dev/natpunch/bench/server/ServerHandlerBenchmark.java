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
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Wire;
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
 * The rendezvous server's packet handler without a socket: what one lookup (version 1, and a
 * version 2 sealed LOOKUP of one key and of eight) and one handshake cost on the server. Every
 * lookup needs a fresh counter (the server drops replays), so each operation also seals the
 * request as a client would; the {@code client...Only} benchmarks measure that client-side part
 * alone, to be subtracted. Version 2 requests are padded to 1232 bytes as the client pads them
 * (the answer may not be longer than the request), so the server decrypts 1,200 bytes for them.
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

    private final byte[] request = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] response = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] scratch = new byte[Wire.TIMESTAMP_LENGTH + V2Wire.MAX_CAPABILITY_BLOCK];

    private final KeyPair v2Keys = KeyPair.generate();
    private final InetSocketAddress v2Address = address(3);
    private final Key[] eightTargets = new Key[8];
    private final byte[] plain = new byte[V2Wire.MAX_DATAGRAM];
    private TransportKeys v2;
    private int v2Index;
    private long v2Counter;

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
        for (int i = 0; i < eightTargets.length; i++) {
            KeyPair k = i == 0 ? targetKeys : KeyPair.generate();
            if (i > 0) {
                register(k, address(10 + i));
            }
            eightTargets[i] = k.publicKey();
        }
        requester = register(requesterKeys, requesterAddress);
        requesterIndex = index;
        v2 = registerV2();
        v2Index = index;
    }

    /** The index the last handshake got. */
    private int index;

    private TransportKeys register(KeyPair keys, InetSocketAddress from) throws HandshakeException {
        NoiseHandshake hs = NoiseHandshake.initiator(keys, serverKeys.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        int n = HandshakeInitiation.encode(hs, 42, ++timestamp, scratch, request, 0);
        int m = handler.handle(request, 0, n, from, response, 0);
        if (m != Wire.RESPONSE_LENGTH) {
            throw new IllegalStateException("handshake not answered: " + handler.metrics());
        }
        HandshakeResponse.read(hs, response, 0, scratch);
        index = HandshakeResponse.assignedIndex(response, 0);
        counter = 0;
        return hs.split();
    }

    /** A version 2 session of {@link #v2Keys}, with the features the client offers. */
    private TransportKeys registerV2() throws HandshakeException {
        NoiseHandshake hs = NoiseHandshake.initiator(v2Keys, serverKeys.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        Capabilities offer = Capabilities.offer(V2Wire.VERSION, V2Wire.FEATURE_BATCH_LOOKUP | V2Wire.FEATURE_DUAL_STACK
                | V2Wire.FEATURE_CANDIDATES);
        int n = V2Handshake.encodeInitiation(hs, 43, ++timestamp, offer, scratch, request, 0);
        int m = handler.handle(request, 0, n, v2Address, response, 0);
        if (m <= Wire.RESPONSE_LENGTH || V2Handshake.readResponse(hs, response, 0, m, scratch) == 0) {
            throw new IllegalStateException("no version 2 answer: " + handler.metrics());
        }
        index = HandshakeResponse.assignedIndex(response, 0);
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

    /** A version 2 LOOKUP of one registered key (sealed by the client, padded to 1232 bytes), answered. */
    @Benchmark
    public int lookupV2Found() {
        int n = sealV2Lookup(1);
        return handler.handle(request, 0, n, v2Address, response, 0);
    }

    /** A version 2 LOOKUP of eight registered keys, answered. */
    @Benchmark
    public int lookupV2EightFound() {
        int n = sealV2Lookup(8);
        return handler.handle(request, 0, n, v2Address, response, 0);
    }

    @Benchmark
    public int clientSealV2LookupOnly() {
        return sealV2Lookup(1);
    }

    private int sealV2Lookup(int keys) {
        int p = BatchLookup.writeRequest(plain, 0, (int) v2Counter, V2Wire.WANT_ALL, eightTargets, 0, keys);
        return Sealed.seal(v2.sender(), V2Wire.TYPE_SEALED_TO_SERVER, v2Index, v2Counter++, plain, 0, p,
                V2Wire.MAX_DATAGRAM, request, 0);
    }

    /**
     * A registered client's re-handshake from the address it is registered at (so the server uses
     * the static-static Diffie-Hellman it remembers): message 1, then the server's part.
     */
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

    /**
     * A handshake of a key the server has not seen (so it computes all five scalar
     * multiplications), which it registers: message 1 of a new client key, then the server's part.
     */
    @Benchmark
    public int handshakeNewKey() {
        int n = newKeyInitiation();
        return handler.handle(request, 0, n, requesterAddress, response, 0);
    }

    @Benchmark
    public int clientNewKeyInitiationOnly() {
        return newKeyInitiation();
    }

    private int newKeyInitiation() {
        NoiseHandshake hs = NoiseHandshake.initiator(KeyPair.generate(), serverKeys.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE);
        return HandshakeInitiation.encode(hs, 42, ++timestamp, scratch, request, 0);
    }
}
