package dev.natpunch.server;

/** Why the server dropped a datagram without answering it. */
public enum DropReason {
    /** An empty datagram. */
    EMPTY,
    /** The first byte is not a message type the server receives. */
    UNKNOWN_TYPE,
    /** A message type that only servers send (a handshake response, a sealed answer) arrived at the server. */
    WRONG_DIRECTION,
    /** Shorter than the shortest message of its type. */
    TOO_SHORT,
    /** Longer than the longest message of its type. */
    TOO_LONG,
    /** A handshake initiation that did not authenticate (wrong server key, corrupted, forged). */
    HANDSHAKE_INVALID,
    /** A handshake initiation whose timestamp is not newer than the client's last accepted one (a replay). */
    HANDSHAKE_REPLAY,
    /** A lookup or sealed request for a session index the server does not know (never assigned, replaced or swept). */
    UNKNOWN_SESSION,
    /** A lookup or sealed request on a session older than the session TTL; the client must handshake again. */
    SESSION_EXPIRED,
    /** A lookup or sealed request whose ciphertext did not authenticate under the session's key and counter. */
    DECRYPTION_FAILED,
    /**
     * A lookup or sealed request whose counter was already seen or is too old for the session's
     * anti-replay window (one window per session, shared by both kinds of datagram).
     */
    COUNTER_REPLAY,
    /** A lookup whose plaintext does not start with the session owner's own public key. */
    WRONG_CLIENT_KEY,
    /**
     * A handshake initiation over its source's rate limit (see
     * {@link RendezvousServer.Builder#handshakeRateLimit}), dropped before any cryptography; or a
     * version 2 PROBE over the session's 10 a second whose RATE_LIMITED error was already sent
     * this second.
     */
    RATE_LIMITED,
    /**
     * A handshake from a key that is not on the server's allow-list
     * ({@link RendezvousServer.Builder#allowList}); the key is never registered.
     */
    NOT_ALLOWED,
    /** A handshake from a new client key while the registration table is full. */
    REGISTRATIONS_FULL,
    /**
     * A handshake that would need a new session while the session table is full of sessions that
     * have carried requests (sessions that never did are evicted to make room, see
     * {@link ServerMetrics#sessionsEvicted()}).
     */
    SESSIONS_FULL,
    /**
     * A handshake initiation that arrived while every handshake thread was busy and the queue in
     * front of them was full, dropped before any cryptography: what bounds the CPU a handshake
     * flood can take from lookups. The client retries after a second.
     */
    HANDSHAKE_QUEUE_FULL,
    /**
     * A sealed request (type 4) on a session that negotiated protocol version 1, dropped without
     * decrypting it: only a client that offered version 2 in its handshake may send one.
     */
    V1_SESSION,
    /**
     * A sealed request that authenticated but cannot be answered: its plaintext is too short to
     * carry a request id, or it carries a kind that only the server sends.
     */
    MALFORMED_REQUEST,
    /**
     * A sealed request was carried out but not answered, because the answer would have been longer
     * than the request (the answer-size rule of protocol version 2, which keeps the server from
     * amplifying spoofed traffic). Clients pad their requests to avoid this.
     */
    ANSWER_TOO_LONG,
    /**
     * A datagram on a NAT probe socket that is not a sealed request: probe sockets answer PROBE
     * only and never register anyone.
     */
    PROBE_SOCKET,
    /** The answer could not be sent (the socket reported an error). */
    SEND_FAILED,
    /** A bug: processing threw an unexpected exception. The server keeps serving; the cause is logged. */
    INTERNAL_ERROR
}
