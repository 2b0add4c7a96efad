package dev.natpunch.crypto;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.security.auth.Destroyable;

/**
 * A 32-byte Curve25519 key, public or private, as WireGuard writes it: standard base64 with
 * padding (44 characters). Immutable until {@link #destroy()}ed; equality is constant-time so
 * that comparing a secret key leaks nothing through timing.
 *
 * <p>{@link #toString()} never prints the key material: a private key that ends up in a log
 * line stays secret. Use {@link #toBase64()} when the text is really wanted.
 *
 * <p>A private key should be {@link #destroy()}ed once nothing needs it any more: that zeroes
 * the only copy this object holds, so the secret does not linger in the heap until the garbage
 * collector reuses the memory. Text the key was parsed from is the caller's to wipe.
 */
public final class Key implements Destroyable {
    /** Length of every key, in bytes. */
    public static final int LENGTH = 32;
    private static final int BASE64_LENGTH = 44;

    private final byte[] bytes;
    /** Fixed at construction, so that destroying a key does not move it inside a hash table. */
    private final int hash;
    private boolean destroyed;

    private Key(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    /**
     * Wraps a copy of {@code bytes}.
     *
     * @throws IllegalArgumentException if {@code bytes} is not 32 bytes long
     */
    public static Key fromBytes(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException(
                    "a key is " + LENGTH + " bytes, not " + bytes.length);
        }
        return new Key(bytes.clone());
    }

    /**
     * Parses a key written as WireGuard writes it (44 characters of standard base64, surrounding
     * white space ignored). Takes any {@link CharSequence}, so that a private key read from a
     * file can stay in a {@code char[]} the caller wipes afterwards; this method keeps no copy of
     * the text, and no message it throws contains any of it.
     *
     * @throws IllegalArgumentException with a message a user can act on, if the text is not a key
     */
    public static Key fromBase64(CharSequence text) {
        int start = 0;
        int end = text.length();
        while (start < end && Character.isWhitespace(text.charAt(start))) {
            start++;
        }
        while (end > start && Character.isWhitespace(text.charAt(end - 1))) {
            end--;
        }
        if (end - start != BASE64_LENGTH || text.charAt(end - 1) != '=') {
            throw new IllegalArgumentException(
                    "not a WireGuard key: expected 44 characters of base64 ending in '=' (as printed by"
                            + " 'wg genkey' or 'wg pubkey'), got " + (end - start) + " characters");
        }
        byte[] ascii = new byte[BASE64_LENGTH];
        byte[] canonical = null;
        byte[] decoded = null;
        try {
            for (int i = 0; i < BASE64_LENGTH; i++) {
                char c = text.charAt(start + i);
                if (c > 0x7f) {
                    throw notBase64();
                }
                ascii[i] = (byte) c;
            }
            try {
                decoded = Base64.getDecoder().decode(ascii);
            } catch (IllegalArgumentException e) {
                // Not chained: the decoder's message quotes a character of the text.
                throw notBase64();
            }
            // "==" padding decodes to 31 bytes; and the decoder ignores the 2 bits the last
            // character carries past the 32 bytes, which wg refuses when not zero: accept only
            // the canonical text.
            canonical = Base64.getEncoder().encode(decoded);
            if (decoded.length != LENGTH || !MessageDigest.isEqual(canonical, ascii)) {
                Arrays.fill(decoded, (byte) 0);
                throw new IllegalArgumentException(
                        "not a WireGuard key: the base64 text does not encode exactly 32 bytes");
            }
            return new Key(decoded);
        } finally {
            Arrays.fill(ascii, (byte) 0);
            if (canonical != null) {
                Arrays.fill(canonical, (byte) 0);
            }
        }
    }

    private static IllegalArgumentException notBase64() {
        return new IllegalArgumentException("not a WireGuard key: it contains characters that are not base64");
    }

    /**
     * Parses a key written as 64 hexadecimal digits, as WireGuard's userspace API does.
     *
     * @throws IllegalArgumentException if the text is not 64 hex digits
     */
    public static Key fromHex(String text) {
        if (text.length() != 2 * LENGTH) {
            throw new IllegalArgumentException(
                    "not a hex key: expected 64 hex digits, got " + text.length() + " characters");
        }
        try {
            return new Key(HexFormat.of().parseHex(text));
        } catch (IllegalArgumentException e) {
            // Not chained: the parser's message quotes a character of the text.
            throw new IllegalArgumentException("not a hex key: it contains non-hex characters");
        }
    }

    /**
     * A copy of the 32 key bytes.
     *
     * @throws IllegalStateException if the key was destroyed (so are the other accessors of the
     *     key material)
     */
    public byte[] toBytes() {
        return material().clone();
    }

    /** The key in standard base64, as {@code wg} prints it. */
    public String toBase64() {
        return Base64.getEncoder().encodeToString(material());
    }

    /** The key as 64 lowercase hex digits, as WireGuard's userspace API writes it. */
    public String toHex() {
        return HexFormat.of().formatHex(material());
    }

    /** Whether all 32 bytes are zero (WireGuard's way of saying "no key"). */
    public boolean isZero() {
        int acc = 0;
        for (byte b : material()) {
            acc |= b;
        }
        return acc == 0;
    }

    /** Copies the key into {@code dst} at {@code offset}, without allocating. */
    public void copyTo(byte[] dst, int offset) {
        System.arraycopy(material(), 0, dst, offset, LENGTH);
    }

    /** Constant-time comparison with 32 bytes of {@code other} starting at {@code offset}. */
    public boolean equalsBytes(byte[] other, int offset) {
        byte[] mine = material();
        if (offset < 0 || other.length - offset < LENGTH) {
            return false;
        }
        int acc = 0;
        for (int i = 0; i < LENGTH; i++) {
            acc |= mine[i] ^ other[offset + i];
        }
        return acc == 0;
    }

    /**
     * Zeroes the key bytes. Afterwards every method that gives or uses the key material throws
     * {@link IllegalStateException}; {@code equals} is then true only for this same object, and
     * {@code hashCode} does not change. Call it once no thread uses the key any more (nor a
     * {@link KeyPair} or {@link NoiseHandshake} made with it). Idempotent.
     */
    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(bytes, (byte) 0);
    }

    /** Whether {@link #destroy()} was called. */
    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    /** The key bytes themselves, for this package's cryptography: never to be modified or exposed. */
    byte[] material() {
        if (destroyed) {
            throw new IllegalStateException("the key was destroyed");
        }
        return bytes;
    }

    @Override
    public boolean equals(Object o) {
        if (o == this) {
            return true;
        }
        return o instanceof Key && !destroyed && !((Key) o).destroyed && MessageDigest.isEqual(bytes, ((Key) o).bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    /** A short, non-secret label: never the key itself. */
    @Override
    public String toString() {
        return destroyed ? "Key[destroyed]" : "Key[32 bytes]";
    }
}
