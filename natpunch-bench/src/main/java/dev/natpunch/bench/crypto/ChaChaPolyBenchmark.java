package dev.natpunch.bench.crypto;

import com.google.crypto.tink.aead.internal.InsecureNonceChaCha20Poly1305;
import dev.natpunch.crypto.CipherState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * ChaCha20-Poly1305 seal followed by open of a 64-byte plaintext (the size of a lookup request),
 * with a fresh Noise nonce each time (providers refuse to encrypt twice with one nonce).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class ChaChaPolyBenchmark {
    private static final byte[] EMPTY = new byte[0];

    private final byte[] key = new byte[32];
    private final byte[] plaintext = new byte[64];
    private final byte[] ciphertext = new byte[80];
    private final byte[] decrypted = new byte[64];
    private long counter;

    private CipherState natpunch;
    private Cipher jdkSeal;
    private Cipher jdkOpen;
    private SecretKey jdkKey;
    private ChaCha20Poly1305 bcSeal;
    private ChaCha20Poly1305 bcOpen;
    private KeyParameter bcKey;
    private InsecureNonceChaCha20Poly1305 tink;

    @Setup
    public void setup() throws Exception {
        new SecureRandom().nextBytes(key);
        new SecureRandom().nextBytes(plaintext);
        natpunch = CipherState.fromKey(key);
        jdkSeal = Cipher.getInstance("ChaCha20-Poly1305");
        jdkOpen = Cipher.getInstance("ChaCha20-Poly1305");
        jdkKey = new SecretKeySpec(key, "ChaCha20");
        bcSeal = new ChaCha20Poly1305();
        bcOpen = new ChaCha20Poly1305();
        bcKey = new KeyParameter(key);
        tink = new InsecureNonceChaCha20Poly1305(key);
    }

    private static byte[] nonce(long counter) {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putLong(counter).array();
    }

    @Benchmark
    public byte[] natpunchHandWritten() throws Exception {
        long n = counter++;
        natpunch.seal(n, plaintext, 0, 64, ciphertext, 0);
        natpunch.open(n, ciphertext, 0, 80, decrypted, 0);
        return decrypted;
    }

    @Benchmark
    public byte[] jdkCipher() throws Exception {
        IvParameterSpec iv = new IvParameterSpec(nonce(counter++));
        jdkSeal.init(Cipher.ENCRYPT_MODE, jdkKey, iv);
        jdkSeal.doFinal(plaintext, 0, 64, ciphertext, 0);
        jdkOpen.init(Cipher.DECRYPT_MODE, jdkKey, iv);
        jdkOpen.doFinal(ciphertext, 0, 80, decrypted, 0);
        return decrypted;
    }

    @Benchmark
    public byte[] bouncyCastleEngine() throws Exception {
        byte[] nonce = nonce(counter++);
        bcSeal.init(true, new ParametersWithIV(bcKey, nonce));
        int n = bcSeal.processBytes(plaintext, 0, 64, ciphertext, 0);
        bcSeal.doFinal(ciphertext, n);
        bcOpen.init(false, new ParametersWithIV(bcKey, nonce));
        n = bcOpen.processBytes(ciphertext, 0, 80, decrypted, 0);
        bcOpen.doFinal(decrypted, n);
        return decrypted;
    }

    @Benchmark
    public byte[] tinkInsecureNonce() throws Exception {
        byte[] nonce = nonce(counter++);
        byte[] ct = tink.encrypt(nonce, plaintext, EMPTY);
        return tink.decrypt(nonce, ct, EMPTY);
    }
}
