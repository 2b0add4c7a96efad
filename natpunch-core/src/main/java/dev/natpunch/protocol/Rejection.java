package dev.natpunch.protocol;

/** Why a datagram was rejected before any cryptography was attempted. */
public enum Rejection {
    /** The datagram has no bytes at all. */
    EMPTY,
    /** The first byte is not a message type of protocol version 1. */
    UNKNOWN_TYPE,
    /** The type is valid but only flows in the other direction (e.g. a handshake response sent to the server). */
    WRONG_DIRECTION,
    /** The datagram is shorter than the fixed length of its type. */
    TOO_SHORT,
    /** The datagram is longer than the fixed length of its type. */
    TOO_LONG,
    /**
     * The length lies between the two legal lengths of a lookup response (25 and 31 bytes) but is
     * neither of them.
     */
    WRONG_LENGTH
}
