package dev.natpunch.wireguard;

import java.io.IOException;
import java.util.Objects;

/**
 * A WireGuard device could not be read or changed. The {@link #kind()} says what a program can
 * do about it; the message says what a person can do about it.
 */
public final class WireguardException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Why the operation failed. */
    public enum Kind {
        /** There is no WireGuard interface with that name (in reach of the chosen backend). */
        NO_SUCH_INTERFACE,
        /** The process lacks the privileges: run as root or grant CAP_NET_ADMIN. */
        PERMISSION_DENIED,
        /** The interface exists but is not a WireGuard interface. */
        NOT_WIREGUARD,
        /** No WireGuard implementation is reachable at all (no userspace daemon, no kernel module, no tool). */
        NO_BACKEND,
        /** The peer named by an update is not configured on the interface; nothing was changed. */
        NO_SUCH_PEER,
        /** The device or tool answered something unexpected, rejected the request, or did not answer in time. */
        PROTOCOL
    }

    private final Kind kind;

    public WireguardException(Kind kind, String message) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public WireguardException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    /** Why the operation failed. */
    public Kind kind() {
        return kind;
    }
}
