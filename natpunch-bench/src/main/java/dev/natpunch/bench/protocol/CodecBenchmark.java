package dev.natpunch.bench.protocol;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
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
 * The codecs of a lookup, each step alone, with {@code -prof gc} showing that none allocates.
 *
 * <ul>
 *   <li>Version 1 (type 3): the request and the answer are sealed as they are encoded, so
 *       {@code v1...Seal} is the encoding and {@code v1...Open} the decoding, each with its
 *       ChaCha20-Poly1305 (64 bytes of request plaintext, 6 of answer).</li>
 *   <li>Version 2, plaintext: a LOOKUP of 8 keys written and read (the server's checks and the
 *       key offsets), its LOOKUP_RESULT of 8 entries with an IPv4 and an IPv6 endpoint each written
 *       and read (the client's checks and every endpoint's port).</li>
 *   <li>Version 2, sealed (type 4): that LOOKUP sealed into a datagram padded to 1232 bytes as
 *       the client pads it, and opened as the server opens it.</li>
 * </ul>
 *
 * <pre>java -jar natpunch-bench/target/benchmarks.jar CodecBenchmark -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBenchmark {
    private static final int KEYS = 8;

    private final CipherState clientToServer = CipherState.fromKey(bytes(32, 1));
    private final CipherState serverToClient = CipherState.fromKey(bytes(32, 2));
    private final Key own = Key.fromBytes(bytes(32, 3));
    private final Key[] peers = new Key[KEYS];
    private final byte[] v6 = bytes(16, 4);

    private final byte[] scratch = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
    private final byte[] plain = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] datagram = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] v1Request = new byte[Wire.LOOKUP_REQUEST_LENGTH];
    private final byte[] v1Answer = new byte[Wire.LOOKUP_RESPONSE_FOUND_LENGTH];
    private final byte[] lookupPlain = new byte[V2Wire.MAX_DATAGRAM];
    private int lookupLength;
    private final byte[] resultPlain = new byte[V2Wire.MAX_DATAGRAM];
    private int resultLength;
    private final byte[] sealedLookup = new byte[V2Wire.MAX_DATAGRAM];
    private int sealedLength;
    private long counter;

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return b;
    }

    @Setup
    public void setUp() {
        for (int i = 0; i < KEYS; i++) {
            peers[i] = Key.fromBytes(bytes(32, 10 + i));
        }
        LookupRequest.encode(clientToServer, 5, 7, own, peers[0], scratch, v1Request, 0);
        LookupResponse.encodeFound(serverToClient, 7, 0xC6120007, 51820, scratch, v1Answer, 0);
        lookupLength = v2LookupWrite();
        resultLength = v2ResultWrite();
        sealedLength = Sealed.seal(clientToServer, V2Wire.TYPE_SEALED_TO_SERVER, 5, 9, lookupPlain, 0, lookupLength,
                V2Wire.MAX_DATAGRAM, sealedLookup, 0);
        int lastBytes = 0;
        for (Key k : peers) {
            lastBytes += k.toBytes()[Key.LENGTH - 1];
        }
        if (v1RequestOpen() != 1 || v1AnswerOpen() != 6 || v2LookupRead() != lastBytes
                || v2ResultRead() != 2L * KEYS * 51820 || v2SealedLookupOpen() != V2Wire.MAX_DATAGRAM - V2Wire.SEALED_OVERHEAD) {
            throw new IllegalStateException("a codec did not read back what was written");
        }
    }

    @Benchmark
    public int v1RequestSeal() {
        return LookupRequest.encode(clientToServer, 5, counter++, own, peers[0], scratch, datagram, 0);
    }

    @Benchmark
    public int v1RequestOpen() {
        return LookupRequest.open(clientToServer, v1Request, 0, plain, 0) ? 1 : 0;
    }

    @Benchmark
    public int v1AnswerSeal() {
        return LookupResponse.encodeFound(serverToClient, counter++, 0xC6120007, 51820, scratch, datagram, 0);
    }

    @Benchmark
    public int v1AnswerOpen() {
        return LookupResponse.open(serverToClient, v1Answer, 0, v1Answer.length, plain);
    }

    @Benchmark
    public int v2LookupWrite() {
        return BatchLookup.writeRequest(lookupPlain, 0, 77, V2Wire.WANT_ALL, peers, 0, KEYS);
    }

    /** The server's reading of a LOOKUP: its checks, then each key's last byte (a lookup by key starts there). */
    @Benchmark
    public int v2LookupRead() {
        if (V2Messages.checkToServer(lookupPlain, 0, lookupLength) != null) {
            return -1;
        }
        int sum = 0;
        for (int i = 0; i < BatchLookup.keyCount(lookupPlain, 0); i++) {
            sum += lookupPlain[BatchLookup.keyOffset(0, i) + Key.LENGTH - 1];
        }
        return sum;
    }

    @Benchmark
    public int v2ResultWrite() {
        int pos = BatchLookup.beginResult(resultPlain, 0, 77);
        for (int i = 0; i < KEYS; i++) {
            pos = BatchLookup.writeEntryHeader(resultPlain, pos, i, 1000 + i, 2);
            pos = WireEndpoint.writeIpv4(resultPlain, pos, WireEndpoint.Kind.SERVER_REFLEXIVE.code(), 0xC6120000 | i, 51820);
            pos = WireEndpoint.writeIpv6(resultPlain, pos, WireEndpoint.Kind.SERVER_REFLEXIVE.code(), v6, 0, 51820);
        }
        return BatchLookup.finishResult(resultPlain, 0, pos, KEYS);
    }

    /** The client's reading of a LOOKUP_RESULT: its checks, then every endpoint's port. */
    @Benchmark
    public long v2ResultRead() {
        if (V2Messages.checkToClient(resultPlain, 0, resultLength) != null) {
            return -1;
        }
        long ports = 0;
        int end = BatchLookup.entriesEnd(resultPlain, 0);
        for (int e = BatchLookup.firstEntry(0); e < end; e = BatchLookup.nextEntry(resultPlain, e)) {
            for (int i = 0; i < BatchLookup.entryEndpointCount(resultPlain, e); i++) {
                ports += WireEndpoint.port(resultPlain, BatchLookup.entryEndpoint(e, i));
            }
        }
        return ports;
    }

    @Benchmark
    public int v2SealedLookupSeal() {
        return Sealed.seal(clientToServer, V2Wire.TYPE_SEALED_TO_SERVER, 5, counter++, lookupPlain, 0, lookupLength,
                V2Wire.MAX_DATAGRAM, datagram, 0);
    }

    @Benchmark
    public int v2SealedLookupOpen() {
        if (Sealed.check(sealedLookup, 0, sealedLength, true) != null) {
            return -1;
        }
        return Sealed.open(clientToServer, sealedLookup, 0, sealedLength, plain, 0);
    }
}
