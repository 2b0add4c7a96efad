package dev.natpunch.crypto;

/**
 * A Noise handshake message was rejected. The {@link #reason()} tells a server whether to merely
 * drop the datagram (all reasons) and what to count in its statistics. It carries no stack trace.
 */
public final class HandshakeException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a handshake message was rejected. */
    public enum Reason {
        /** The message is shorter than the pattern requires. */
        TRUNCATED,
        /** An AEAD tag did not verify: forged or corrupted message, or wrong keys. */
        DECRYPTION_FAILED,
        /** A received public key is unusable, e.g. a low-order point giving an all-zero DH. */
        INVALID_KEY,
        /** The handshake is not expecting a message to read (already complete, or its turn to write). */
        WRONG_STATE
    }

    private final Reason reason;

    HandshakeException(Reason reason, String message) {
        // No stack trace: this reports hostile or broken input, not a bug, and a server may see
        // floods of it.
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
