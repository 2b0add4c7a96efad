package dev.natpunch.crypto;

/**
 * X25519 (RFC 7748) scalar multiplication, by BouncyCastle's {@code rfc7748.X25519}: the fastest
 * of the providers measured (see docs/PERFORMANCE.md), and it works on caller-supplied arrays.
 */
final class X25519 {
    static {
        // Builds BouncyCastle's fixed-base tables now rather than during the first handshake.
        org.bouncycastle.math.ec.rfc7748.X25519.precompute();
    }

    private X25519() {
    }

    /** Clamps a private scalar in place: byte 0 &amp;= 248, byte 31 &amp;= 127, byte 31 |= 64. */
    static void clamp(byte[] scalar) {
        scalar[0] &= (byte) 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
    }

    static byte[] publicKey(byte[] privateKey) {
        byte[] out = new byte[Key.LENGTH];
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(privateKey, 0, out, 0);
        return out;
    }

    /** Writes the public key of the 32-byte scalar at {@code privOffset} (clamped on the fly). */
    static void publicKey(byte[] priv, int privOffset, byte[] out, int outOffset) {
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(priv, privOffset, out, outOffset);
    }

    /**
     * Diffie-Hellman: writes X25519(priv, pub) to {@code out}.
     *
     * @return false if the result is all zeros, which happens exactly when {@code pub} is a
     *     low-order point; the caller must then reject the key
     */
    static boolean agree(byte[] priv, int privOffset, byte[] pub, int pubOffset, byte[] out, int outOffset) {
        return org.bouncycastle.math.ec.rfc7748.X25519.calculateAgreement(
                priv, privOffset, pub, pubOffset, out, outOffset);
    }
}
