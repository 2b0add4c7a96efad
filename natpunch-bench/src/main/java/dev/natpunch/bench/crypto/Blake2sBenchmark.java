package dev.natpunch.bench.crypto;

import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * BouncyCastle's BLAKE2s-256 on the input sizes Noise uses: 64 bytes (MixHash of a key, one HMAC
 * block) and 128 bytes (an HMAC pad block plus data), against a plain hand-written one.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class Blake2sBenchmark {
    @Param({"64", "128"})
    public int size;

    private final Blake2sDigest digest = new Blake2sDigest(256);
    private final HandWrittenBlake2s handWritten = new HandWrittenBlake2s();
    private byte[] input;
    private final byte[] out = new byte[32];

    @Setup
    public void setup() {
        input = new byte[size];
        for (int i = 0; i < size; i++) {
            input[i] = (byte) i;
        }
        byte[] check = new byte[32];
        handWritten.digest(input, 0, size, check, 0);
        digest.update(input, 0, size);
        digest.doFinal(out, 0);
        if (!java.util.Arrays.equals(check, out)) {
            throw new IllegalStateException("hand-written BLAKE2s disagrees with BouncyCastle");
        }
    }

    @Benchmark
    public byte[] bouncyCastle() {
        digest.update(input, 0, input.length);
        digest.doFinal(out, 0);
        return out;
    }

    @Benchmark
    public byte[] handWritten() {
        handWritten.digest(input, 0, input.length, out, 0);
        return out;
    }
}
