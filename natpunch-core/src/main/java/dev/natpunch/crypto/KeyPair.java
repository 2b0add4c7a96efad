package dev.natpunch.crypto;

import java.security.SecureRandom;
import java.util.Arrays;
import javax.security.auth.Destroyable;

/**
 * An X25519 key pair, such as a WireGuard interface's or a rendezvous server's. Immutable until
 * {@link #destroy()}ed. {@link #toString()} shows the public key only.
 */
public final class KeyPair implements Destroyable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Key privateKey;
    private final Key publicKey;

    private KeyPair(Key privateKey, Key publicKey) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
    }

    /** A new key pair from 32 random bytes, clamped as X25519 requires (like {@code wg genkey}). */
    public static KeyPair generate() {
        byte[] secret = new byte[Key.LENGTH];
        RANDOM.nextBytes(secret);
        X25519.clamp(secret);
        try {
            return fromPrivateKey(Key.fromBytes(secret));
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    /**
     * The key pair whose private key is {@code privateKey}; the public key is derived from it.
     * The pair holds {@code privateKey} itself, not a copy: destroying either destroys both.
     */
    public static KeyPair fromPrivateKey(Key privateKey) {
        return new KeyPair(privateKey, Key.fromBytes(X25519.publicKey(privateKey.material())));
    }

    public Key privateKey() {
        return privateKey;
    }

    public Key publicKey() {
        return publicKey;
    }

    /**
     * Zeroes the private key (see {@link Key#destroy()}); the public key stays usable. Call it
     * once nothing uses the pair any more, e.g. after closing the server or client made with it.
     */
    @Override
    public void destroy() {
        privateKey.destroy();
    }

    @Override
    public boolean isDestroyed() {
        return privateKey.isDestroyed();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyPair && privateKey.equals(((KeyPair) o).privateKey);
    }

    @Override
    public int hashCode() {
        return publicKey.hashCode();
    }

    @Override
    public String toString() {
        return "KeyPair[public=" + publicKey.toBase64() + "]";
    }
}
