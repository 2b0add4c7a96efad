package dev.natpunch.server;

/** Why the server dropped a datagram without answering it. */
public enum DropReason {
    /** An empty datagram. */
    EMPTY,
    /** The first byte is not a message type of protocol version 1. */
    UNKNOWN_TYPE,
    /** A message type that only servers send (a handshake response) arrived at the server. */
    WRONG_DIRECTION,
    /** Shorter than the fixed length of its message type. */
    TOO_SHORT,
    /** Longer than the fixed length of its message type. */
    TOO_LONG,
    /** A handshake initiation that did not authenticate (wrong server key, corrupted, forged). */
    HANDSHAKE_INVALID,
    /** A handshake initiation whose timestamp is not newer than the client's last accepted one (a replay). */
    HANDSHAKE_REPLAY,
    /** A lookup for a session index the server does not know (never assigned, replaced or swept). */
    UNKNOWN_SESSION,
    /** A lookup on a session older than the session TTL; the client must handshake again. */
    SESSION_EXPIRED,
    /** A lookup whose ciphertext did not authenticate under the session's key and counter. */
    DECRYPTION_FAILED,
    /** A lookup whose counter was already seen or is too old for the session's anti-replay window. */
    COUNTER_REPLAY,
    /** A lookup whose plaintext does not start with the session owner's own public key. */
    WRONG_CLIENT_KEY,
    /**
     * A handshake initiation over its source's rate limit (see
     * {@link RendezvousServer.Builder#handshakeRateLimit}), dropped before any cryptography.
     */
    RATE_LIMITED,
    /** A handshake from a new client key while the registration table is full. */
    REGISTRATIONS_FULL,
    /** A handshake that would need a new session while the session table is full. */
    SESSIONS_FULL,
    /** The answer could not be sent (the socket reported an error). */
    SEND_FAILED,
    /** A bug: processing threw an unexpected exception. The server keeps serving; the cause is logged. */
    INTERNAL_ERROR
}
