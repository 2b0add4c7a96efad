package dev.natpunch.protocol.v2;

import dev.natpunch.protocol.Wire;

/**
 * Types, kinds, feature bits, sizes and offsets of protocol version 2 ({@code docs/protocol-v2.md}).
 * Datagram offsets are relative to the first byte of the datagram, plaintext offsets to the first
 * byte of the decrypted plaintext.
 */
public final class V2Wire {
    private V2Wire() {
    }

    /** The version this implementation speaks; version 1 is the natpunch-go protocol. */
    public static final int VERSION = 2;

    /** Sealed message, client to server. */
    public static final byte TYPE_SEALED_TO_SERVER = 4;
    /** Sealed message, server to client. */
    public static final byte TYPE_SEALED_TO_CLIENT = 5;
    /** Relay bind datagram, client to a relay port (not to the rendezvous port). */
    public static final byte TYPE_RELAY_BIND = 6;

    /**
     * The largest datagram of version 2 (UDP payload): an IPv6 packet of the minimum MTU, 1280
     * bytes, less 40 bytes of IPv6 header and 8 of UDP header.
     */
    public static final int MAX_DATAGRAM = 1232;

    // Sealed envelope: type (1), session index (4), counter (8), then AEAD ciphertext with tag.
    public static final int SEALED_INDEX_OFFSET = 1;
    public static final int SEALED_COUNTER_OFFSET = 5;
    public static final int SEALED_HEADER_LENGTH = 13;
    public static final int TAG_LENGTH = Wire.TAG_LENGTH;
    public static final int SEALED_OVERHEAD = SEALED_HEADER_LENGTH + TAG_LENGTH;

    // Inner header, at plaintext offset 0: kind (1), id (4), body length (2).
    public static final int INNER_KIND_OFFSET = 0;
    public static final int INNER_ID_OFFSET = 1;
    public static final int INNER_BODY_LENGTH_OFFSET = 5;
    public static final int INNER_HEADER_LENGTH = 7;

    public static final int MIN_SEALED_LENGTH = SEALED_OVERHEAD + INNER_HEADER_LENGTH;
    public static final int MAX_PLAINTEXT = MAX_DATAGRAM - SEALED_OVERHEAD;
    public static final int MAX_BODY = MAX_PLAINTEXT - INNER_HEADER_LENGTH;

    // Kinds, client to server.
    public static final byte KIND_LOOKUP = 0x01;
    public static final byte KIND_SUBSCRIBE = 0x02;
    public static final byte KIND_PUSH_ACK = 0x03;
    public static final byte KIND_REGISTER = 0x04;
    public static final byte KIND_PROBE = 0x05;
    public static final byte KIND_INFO = 0x06;
    public static final byte KIND_RELAY = 0x07;
    // Kinds, server to client: the answer to kind k is k | 0x80.
    public static final byte KIND_LOOKUP_RESULT = (byte) 0x81;
    public static final byte KIND_SUBSCRIBE_RESULT = (byte) 0x82;
    public static final byte KIND_PUSH_UPDATE = (byte) 0x83;
    public static final byte KIND_REGISTER_RESULT = (byte) 0x84;
    public static final byte KIND_PROBE_RESULT = (byte) 0x85;
    public static final byte KIND_INFO_RESULT = (byte) 0x86;
    public static final byte KIND_RELAY_RESULT = (byte) 0x87;
    public static final byte KIND_ERROR = (byte) 0xff;

    // Feature bits of the FEATURES capability (bit n is 1L << n).
    public static final long FEATURE_BATCH_LOOKUP = 1L;
    public static final long FEATURE_PUSH = 1L << 1;
    public static final long FEATURE_DUAL_STACK = 1L << 2;
    public static final long FEATURE_CANDIDATES = 1L << 3;
    public static final long FEATURE_NAT_PROBE = 1L << 4;
    public static final long FEATURE_RELAY = 1L << 5;
    /** Every feature version 2 defined at its first release. */
    public static final long FEATURES_V2 = (1L << 6) - 1;
    /**
     * The server pushes a session the peers that look its owner up (protocol-v2.md 6.3), so that
     * both sides of a new pair act at once. Defined later, in the room of section 8.
     */
    public static final long FEATURE_INTEREST = 1L << 6;

    // Capability TLVs in the handshake payloads.
    public static final int TLV_PAD = 0x00;
    public static final int TLV_VERSION = 0x01;
    public static final int TLV_FEATURES = 0x02;
    public static final int TLV_OBSERVED_ENDPOINT = 0x03;
    public static final int TLV_SESSION_LIFETIME = 0x04;
    public static final int TLV_HEADER_LENGTH = 2;
    /** Largest capability block in either handshake message. */
    public static final int MAX_CAPABILITY_BLOCK = 256;
    /** Message 1 with the largest capability block. */
    public static final int MAX_INITIATION_LENGTH = Wire.INITIATION_LENGTH + MAX_CAPABILITY_BLOCK;
    /** Message 2 with the largest capability block. */
    public static final int MAX_RESPONSE_LENGTH = Wire.RESPONSE_LENGTH + MAX_CAPABILITY_BLOCK;

    // "want" byte of LOOKUP and SUBSCRIBE.
    public static final int WANT_IPV4 = 0x01;
    public static final int WANT_IPV6 = 0x02;
    public static final int WANT_SERVER_REFLEXIVE = 0x04;
    public static final int WANT_LOCAL = 0x08;
    public static final int WANT_RELAY = 0x10;
    public static final int WANT_ALL = 0x1f;

    /** Largest number of endpoints one peer has in a lookup result or push update. */
    public static final int MAX_ENDPOINTS_PER_PEER = 8;
    /** Largest number of local candidates one REGISTER carries. */
    public static final int MAX_CANDIDATES = 8;
    /** Largest number of endpoints in an INFO result. */
    public static final int MAX_SERVER_ENDPOINTS = 8;
    /** Keys per LOOKUP: (1196 - 1) / 32. */
    public static final int MAX_LOOKUP_KEYS = (MAX_BODY - 1) / 32;
    /** Keys per SUBSCRIBE: (1196 - 2) / 32. */
    public static final int MAX_SUBSCRIBE_KEYS = (MAX_BODY - 2) / 32;

    /** Length of the relay bind token. */
    public static final int RELAY_TOKEN_LENGTH = 16;
    /** Relay bind datagram: type (1), three zero bytes, token (16). */
    public static final int RELAY_BIND_LENGTH = 4 + RELAY_TOKEN_LENGTH;
}
