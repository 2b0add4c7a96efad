package dev.natpunch.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/** The hand-written ChaCha20-Poly1305 against two independent implementations (JDK and BouncyCastle). */
class ChaChaPolyTest {
    private static byte[] nonce(long counter) {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putLong(counter).array();
    }

    private static byte[] jdkSeal(byte[] key, long counter, byte[] ad, byte[] pt) throws Exception {
        Cipher c = Cipher.getInstance("ChaCha20-Poly1305");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce(counter)));
        c.updateAAD(ad);
        return c.doFinal(pt);
    }

    private static byte[] bcSeal(byte[] key, long counter, byte[] ad, byte[] pt) throws Exception {
        ChaCha20Poly1305 c = new ChaCha20Poly1305();
        c.init(true, new AEADParameters(new KeyParameter(key), 128, nonce(counter), ad));
        byte[] out = new byte[c.getOutputSize(pt.length)];
        int n = c.processBytes(pt, 0, pt.length, out, 0);
        c.doFinal(out, n);
        return out;
    }

    @Test
    void matchesJdkAndBouncyCastleForManyLengths() throws Exception {
        Random random = new Random(1234);
        long[] counters = {0, 1, 255, 0x1_0000_0000L, Long.MAX_VALUE, -1L};
        for (int len = 0; len <= 300; len++) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            byte[] pt = new byte[len];
            random.nextBytes(pt);
            byte[] ad = new byte[random.nextInt(70)];
            random.nextBytes(ad);
            long counter = counters[len % counters.length];

            byte[] expected = jdkSeal(key, counter, ad, pt);
            assertArrayEquals(expected, bcSeal(key, counter, ad, pt), "JDK and BC disagree at length " + len);

            int[] kw = ChaChaPoly.keyWords(key, 0);
            byte[] out = new byte[len + 16 + 7];
            assertEquals(len + 16, ChaChaPoly.seal(kw, counter, ad, 0, ad.length, pt, 0, len, out, 7));
            assertArrayEquals(expected, Arrays.copyOfRange(out, 7, 7 + len + 16), "length " + len);

            byte[] back = new byte[len + 3];
            assertEquals(len, ChaChaPoly.open(kw, counter, ad, 0, ad.length, out, 7, len + 16, back, 3));
            assertArrayEquals(pt, Arrays.copyOfRange(back, 3, 3 + len));
        }
    }

    @Test
    void worksInPlace() {
        byte[] key = new byte[32];
        new Random(5).nextBytes(key);
        int[] kw = ChaChaPoly.keyWords(key, 0);
        byte[] pt = new byte[150];
        new Random(6).nextBytes(pt);
        byte[] buf = Arrays.copyOf(pt, 150 + 16);
        ChaChaPoly.seal(kw, 9, new byte[0], 0, 0, buf, 0, 150, buf, 0);
        byte[] separate = new byte[166];
        ChaChaPoly.seal(kw, 9, new byte[0], 0, 0, pt, 0, 150, separate, 0);
        assertArrayEquals(separate, buf);
        assertEquals(150, ChaChaPoly.open(kw, 9, new byte[0], 0, 0, buf, 0, 166, buf, 0));
        assertArrayEquals(pt, Arrays.copyOf(buf, 150));
    }

    @Test
    void rejectsEveryFlippedBitAndWritesNothing() {
        byte[] key = new byte[32];
        new Random(7).nextBytes(key);
        int[] kw = ChaChaPoly.keyWords(key, 0);
        byte[] ad = {1, 2, 3};
        byte[] pt = new byte[40];
        byte[] ct = new byte[56];
        ChaChaPoly.seal(kw, 3, ad, 0, 3, pt, 0, 40, ct, 0);
        for (int bit = 0; bit < ct.length * 8; bit++) {
            byte[] bad = ct.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            byte[] out = new byte[40];
            Arrays.fill(out, (byte) 0x55);
            assertEquals(-1, ChaChaPoly.open(kw, 3, ad, 0, 3, bad, 0, 56, out, 0), "bit " + bit);
            for (byte b : out) {
                assertEquals((byte) 0x55, b);
            }
        }
        for (int bit = 0; bit < 24; bit++) {
            byte[] badAd = ad.clone();
            badAd[bit / 8] ^= (byte) (1 << (bit % 8));
            assertEquals(-1, ChaChaPoly.open(kw, 3, badAd, 0, 3, ct, 0, 56, new byte[40], 0));
        }
        assertEquals(-1, ChaChaPoly.open(kw, 4, ad, 0, 3, ct, 0, 56, new byte[40], 0));
        assertEquals(-1, ChaChaPoly.open(kw, 3, ad, 0, 3, ct, 0, 15, new byte[40], 0));
    }
}
