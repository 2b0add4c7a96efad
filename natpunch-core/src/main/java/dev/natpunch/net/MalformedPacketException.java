package dev.natpunch.net;

/** Why a received packet was refused; cheap (no stack trace) because refusals are routine. */
final class MalformedPacketException extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedPacketException(String message) {
        super(message, null, false, false);
    }
}
