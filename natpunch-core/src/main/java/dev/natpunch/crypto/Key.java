package dev.natpunch.crypto;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A 32-byte Curve25519 key, public or private, as WireGuard writes it: standard base64 with
 * padding (44 characters). Immutable; equality is constant-time so that comparing a secret
 * key leaks nothing through timing.
 *
 * <p>{@link #toString()} never prints the key material: a private key that ends up in a log
 * line stays secret. Use {@link #toBase64()} when the text is really wanted.
 */
public final class Key {
    /** Length of every key, in bytes. */
    public static final int LENGTH = 32;

    private final byte[] bytes;

    private Key(byte[] bytes) {
        this.bytes = bytes;
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
     * Parses a key written as WireGuard writes it (44 characters of standard base64).
     *
     * @throws IllegalArgumentException with a message a user can act on, if the text is not a key
     */
    public static Key fromBase64(String text) {
        String trimmed = text.strip();
        if (trimmed.length() != 44 || trimmed.charAt(43) != '=') {
            throw new IllegalArgumentException(
                    "not a WireGuard key: expected 44 characters of base64 ending in '=' (as printed by"
                            + " 'wg genkey' or 'wg pubkey'), got " + trimmed.length() + " characters");
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(trimmed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "not a WireGuard key: it contains characters that are not base64", e);
        }
        // "==" padding decodes to 31 bytes; and the decoder ignores the 2 bits the last character
        // carries past the 32 bytes, which wg refuses when not zero: accept only the canonical text.
        if (decoded.length != LENGTH || !Base64.getEncoder().encodeToString(decoded).equals(trimmed)) {
            throw new IllegalArgumentException(
                    "not a WireGuard key: the base64 text does not encode exactly 32 bytes");
        }
        return new Key(decoded);
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
            throw new IllegalArgumentException("not a hex key: it contains non-hex characters", e);
        }
    }

    /** A copy of the 32 key bytes. */
    public byte[] toBytes() {
        return bytes.clone();
    }

    /** The key in standard base64, as {@code wg} prints it. */
    public String toBase64() {
        return Base64.getEncoder().encodeToString(bytes);
    }

    /** The key as 64 lowercase hex digits, as WireGuard's userspace API writes it. */
    public String toHex() {
        return HexFormat.of().formatHex(bytes);
    }

    /** Whether all 32 bytes are zero (WireGuard's way of saying "no key"). */
    public boolean isZero() {
        int acc = 0;
        for (byte b : bytes) {
            acc |= b;
        }
        return acc == 0;
    }

    /** Copies the key into {@code dst} at {@code offset}, without allocating. */
    public void copyTo(byte[] dst, int offset) {
        System.arraycopy(bytes, 0, dst, offset, LENGTH);
    }

    /** Constant-time comparison with 32 bytes of {@code other} starting at {@code offset}. */
    public boolean equalsBytes(byte[] other, int offset) {
        if (offset < 0 || other.length - offset < LENGTH) {
            return false;
        }
        int acc = 0;
        for (int i = 0; i < LENGTH; i++) {
            acc |= bytes[i] ^ other[offset + i];
        }
        return acc == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Key && MessageDigest.isEqual(bytes, ((Key) o).bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** A short, non-secret label: never the key itself. */
    @Override
    public String toString() {
        return "Key[32 bytes]";
    }
}
