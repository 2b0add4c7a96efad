package dev.natpunch.bench.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * X25519 Diffie-Hellman operations per second on this machine, by the call the core's
 * {@code dev.natpunch.crypto.X25519.agree} makes (BouncyCastle's {@code calculateAgreement}). A
 * responder does five scalar multiplications per handshake (four of these and one cheaper
 * fixed-base one), so {@code cores * opsPerSecond / 5} is the handshake limit.
 */
final class X25519Rate {
    private X25519Rate() {
    }

    /** Operations per second of {@code threads} threads together, measured for {@code millis} after a warm-up. */
    static double measure(int threads, long warmupMillis, long millis) throws InterruptedException {
        X25519.precompute();
        AtomicLong total = new AtomicLong();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmupMillis);
        long end = start + TimeUnit.MILLISECONDS.toNanos(millis);
        List<Thread> list = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                byte[] priv = new byte[32];
                byte[] pub = new byte[32];
                byte[] out = new byte[32];
                ThreadLocalRandom.current().nextBytes(priv);
                X25519.generatePublicKey(priv, 0, pub, 0);
                long n = 0;
                long now;
                while ((now = System.nanoTime()) < end) {
                    // Chains the result into the next input so the JIT cannot drop the call.
                    X25519.calculateAgreement(priv, 0, pub, 0, out, 0);
                    pub[0] ^= out[0];
                    if (now >= start) {
                        n++;
                    }
                }
                total.addAndGet(n);
            }, "x25519-" + t);
            list.add(th);
            th.start();
        }
        for (Thread th : list) {
            th.join();
        }
        return total.get() * 1000.0 / millis;
    }
}
