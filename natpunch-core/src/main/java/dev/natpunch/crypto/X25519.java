package dev.natpunch.crypto;

/** X25519 (RFC 7748) scalar multiplication. */
final class X25519 {
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
}
