package dev.natpunch.protocol.v2;

/**
 * Why a version 2 datagram, plaintext or capability block was rejected. Every check of this
 * package answers with one of these (or {@code null} when the input is well formed), never with
 * an exception.
 */
public enum V2Rejection {
    /** Shorter than the smallest message of its type. */
    TOO_SHORT,
    /** Longer than the largest message of its type (for sealed messages: 1232 bytes). */
    TOO_LONG,
    /** The first byte is not a type this check accepts. */
    UNKNOWN_TYPE,
    /** The type or kind only flows in the other direction. */
    WRONG_DIRECTION,
    /** The inner header's body length runs past the end of the plaintext. */
    BODY_LENGTH,
    /** A padding byte after the body is not zero. */
    NONZERO_PADDING,
    /** The inner kind is not one of version 2. */
    UNKNOWN_KIND,
    /** The body's length does not fit the layout of its kind. */
    WRONG_LENGTH,
    /** A flags, want or reserved field has a bit set that version 2 does not define. */
    RESERVED_BITS,
    /** A count (keys, endpoints, entries) is zero where one is required, or above its maximum. */
    COUNT,
    /** An endpoint has an unknown family, an IPv4 address not in IPv4-mapped form, an unspecified address, or port 0. */
    ENDPOINT,
    /** An endpoint's kind is not allowed in this field. */
    ENDPOINT_KIND,
    /** Lookup result entries are not in strictly increasing position order, or point past the answered range. */
    ORDER,
    /** An operation code is not defined. */
    OPERATION,
    /** A status or error code is not defined. */
    STATUS,
    /** A capability TLV runs past the end of the block. */
    TLV_TRUNCATED,
    /** A known capability TLV appears twice. */
    TLV_DUPLICATE,
    /** A known capability TLV has a value of the wrong length. */
    TLV_LENGTH,
    /** The VERSION TLV is missing or names a version below 2. */
    VERSION
}
