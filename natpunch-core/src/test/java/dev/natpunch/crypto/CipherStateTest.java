package dev.natpunch.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;

class CipherStateTest {
    private final byte[] key = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private final CipherState cs = CipherState.fromKey(key);

    private byte[] seal(long counter, byte[] pt) {
        byte[] out = new byte[pt.length + 16];
        assertEquals(pt.length + 16, cs.seal(counter, pt, 0, pt.length, out, 0));
        return out;
    }

    @Test
    void roundTripWithOffsets() throws Exception {
        byte[] pt = new byte[64];
        Arrays.fill(pt, (byte) 3);
        byte[] framed = new byte[13 + 80];
        assertEquals(80, cs.seal(42, pt, 0, 64, framed, 13));
        byte[] back = new byte[70];
        assertEquals(64, cs.open(42, framed, 13, 80, back, 6));
        assertArrayEquals(pt, Arrays.copyOfRange(back, 6, 70));
    }

    @Test
    void emptyPlaintextIsJustATag() throws Exception {
        byte[] ct = seal(0, new byte[0]);
        assertEquals(16, ct.length);
        assertEquals(0, cs.open(0, ct, 0, 16, new byte[0], 0));
    }

    @Test
    void wrongCounterFails() {
        byte[] ct = seal(5, new byte[6]);
        assertThrows(AEADBadTagException.class, () -> cs.open(4, ct, 0, ct.length, new byte[6], 0));
        assertThrows(AEADBadTagException.class, () -> cs.open(6, ct, 0, ct.length, new byte[6], 0));
        assertThrows(AEADBadTagException.class, () -> cs.open(5 + (1L << 32), ct, 0, ct.length, new byte[6], 0));
        assertEquals(-1, cs.tryOpen(4, ct, 0, ct.length, new byte[6], 0));
    }

    @Test
    void wrongKeyTamperingAndShortInputFail() {
        byte[] ct = seal(1, new byte[6]);
        byte[] other = key.clone();
        other[31] ^= 1;
        assertEquals(-1, CipherState.fromKey(other).tryOpen(1, ct, 0, ct.length, new byte[6], 0));
        for (int i = 0; i < ct.length; i++) {
            byte[] bad = ct.clone();
            bad[i] ^= (byte) 0x80;
            assertEquals(-1, cs.tryOpen(1, bad, 0, bad.length, new byte[6], 0), "byte " + i);
        }
        for (int len = 0; len < 16; len++) {
            int l = len;
            assertThrows(AEADBadTagException.class, () -> cs.open(1, ct, 0, l, new byte[6], 0));
        }
    }

    @Test
    void associatedDataIsAuthenticated() {
        byte[] ad = {9, 9};
        byte[] out = new byte[16 + 3];
        cs.seal(0, ad, 0, 2, new byte[3], 0, 3, out, 0);
        assertEquals(3, cs.tryOpen(0, ad, 0, 2, out, 0, out.length, new byte[3], 0));
        assertEquals(-1, cs.tryOpen(0, out, 0, out.length, new byte[3], 0));
        assertEquals(-1, cs.tryOpen(0, new byte[] {9, 8}, 0, 2, out, 0, out.length, new byte[3], 0));
    }

    @Test
    void destroyZeroesTheKey() {
        CipherState c = CipherState.fromKey(key);
        byte[] ct = seal(0, new byte[4]);
        c.destroy();
        assertEquals(-1, c.tryOpen(0, ct, 0, ct.length, new byte[4], 0));
        byte[] zeroKeyCt = new byte[20];
        CipherState.fromKey(new byte[32]).seal(0, new byte[4], 0, 4, zeroKeyCt, 0);
        byte[] afterDestroy = new byte[20];
        c.seal(0, new byte[4], 0, 4, afterDestroy, 0);
        assertArrayEquals(zeroKeyCt, afterDestroy);
        assertFalse(c.toString().contains("00"));
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> CipherState.fromKey(new byte[31]));
        assertThrows(IndexOutOfBoundsException.class, () -> cs.seal(0, new byte[10], 0, 10, new byte[25], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> cs.seal(0, new byte[10], 1, 10, new byte[26], 0));
        byte[] ct = seal(0, new byte[10]);
        assertThrows(IndexOutOfBoundsException.class, () -> cs.open(0, ct, 0, 26, new byte[9], 0));
    }

    @Test
    void sharedAcrossThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Future<?>[] futures = new Future<?>[4];
            for (int t = 0; t < 4; t++) {
                long base = t * 1_000_000L;
                futures[t] = pool.submit(() -> {
                    byte[] pt = new byte[64];
                    byte[] ct = new byte[80];
                    byte[] back = new byte[64];
                    for (int i = 0; i < 2000; i++) {
                        Arrays.fill(pt, (byte) i);
                        cs.seal(base + i, pt, 0, 64, ct, 0);
                        if (cs.tryOpen(base + i, ct, 0, 80, back, 0) != 64 || !Arrays.equals(pt, back)) {
                            throw new AssertionError("concurrent seal/open broke at " + (base + i));
                        }
                    }
                    return null;
                });
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void sealAndOpenAllocateNothing() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter in this JVM");
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) bean;
        assumeTrue(mx.isThreadAllocatedMemorySupported(), "per-thread allocation counting not supported");
        mx.setThreadAllocatedMemoryEnabled(true);
        byte[] pt = new byte[64];
        byte[] ct = new byte[80];
        byte[] back = new byte[64];
        long id = Thread.currentThread().getId();
        for (int round = 0; round < 3; round++) {
            long before = mx.getThreadAllocatedBytes(id);
            int ok = 0;
            for (int i = 0; i < 1000; i++) {
                cs.seal(i, pt, 0, 64, ct, 0);
                ok += cs.tryOpen(i, ct, 0, 80, back, 0);
            }
            long allocated = mx.getThreadAllocatedBytes(id) - before;
            assertEquals(64_000, ok);
            // The counter itself may account a few bytes; 1000 messages allocating would show kilobytes.
            if (allocated < 1000) {
                return;
            }
        }
        throw new AssertionError("seal/open allocate on the hot path");
    }
}
