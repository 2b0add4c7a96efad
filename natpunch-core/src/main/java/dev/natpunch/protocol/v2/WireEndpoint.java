package dev.natpunch.protocol.v2;

import dev.natpunch.protocol.Wire;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An endpoint as version 2 carries it, 19 bytes: a descriptor byte ({@code kind << 4 | family},
 * family 4 or 6), a 16-byte address (IPv4 in IPv4-mapped form {@code ::ffff:a.b.c.d}) and a
 * big-endian port.
 *
 * <p>The static methods read and write the wire form in place without allocating; the record is
 * for code off the hot path.
 */
public record WireEndpoint(Kind kind, InetAddress address, int port) {
    /** Bytes of one endpoint on the wire. */
    public static final int LENGTH = 19;
    public static final int ADDRESS_OFFSET = 1;
    public static final int PORT_OFFSET = 17;

    public static final int FAMILY_IPV4 = 4;
    public static final int FAMILY_IPV6 = 6;

    /** Kinds a peer's endpoint may have (lookup results, push updates). */
    public static final int KINDS_PEER = Kind.SERVER_REFLEXIVE.bit() | Kind.LOCAL.bit() | Kind.RELAY.bit();
    /** Kinds a server's own endpoint may have (INFO results, probe response origins). */
    public static final int KINDS_SERVER = Kind.SERVER_PRIMARY.bit() | Kind.SERVER_ALT_PORT.bit()
            | Kind.SERVER_ALT_ADDRESS.bit() | Kind.SERVER_ALT_BOTH.bit();

    /** What an endpoint is; the code is the high nibble of the descriptor byte. */
    public enum Kind {
        /** The public address and port a server saw a client's datagram come from. */
        SERVER_REFLEXIVE(1),
        /** An address of one of the client's own interfaces, with its WireGuard port. */
        LOCAL(2),
        /** A relay port allocated for a pair of peers. */
        RELAY(3),
        /** An address and port the rendezvous server listens on. */
        SERVER_PRIMARY(8),
        /** A primary address of the server with its second (probe) port. */
        SERVER_ALT_PORT(9),
        /** The server's second (probe) address with the primary port. */
        SERVER_ALT_ADDRESS(10),
        /** The server's second address with its second port. */
        SERVER_ALT_BOTH(11);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        /** The 4-bit code on the wire. */
        public int code() {
            return code;
        }

        /** {@code 1 << code}, for the kind masks of {@link #check}. */
        public int bit() {
            return 1 << code;
        }

        /** The kind with this code, or {@code null}. */
        public static Kind of(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            return null;
        }
    }

    public WireEndpoint {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(address, "address");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1 to 65535, not " + port);
        }
        if (address.isAnyLocalAddress()) {
            throw new IllegalArgumentException("an endpoint cannot have the unspecified address");
        }
    }

    /** The address family, {@link #FAMILY_IPV4} or {@link #FAMILY_IPV6}. */
    public int family() {
        return address instanceof Inet4Address ? FAMILY_IPV4 : FAMILY_IPV6;
    }

    /** Writes the 19 bytes at {@code off}; returns {@code off + 19}. */
    public int write(byte[] b, int off) {
        byte[] raw = address.getAddress();
        if (raw.length == 4) {
            return writeIpv4(b, off, kind.code, Wire.readInt(raw, 0), port);
        }
        return writeIpv6(b, off, kind.code, raw, 0, port);
    }

    /** Reads an endpoint that passed {@link #check}. */
    public static WireEndpoint read(byte[] b, int off) {
        Kind kind = Kind.of(kindCode(b, off));
        byte[] raw;
        if (family(b, off) == FAMILY_IPV4) {
            raw = new byte[4];
            System.arraycopy(b, off + ADDRESS_OFFSET + 12, raw, 0, 4);
        } else {
            raw = new byte[16];
            System.arraycopy(b, off + ADDRESS_OFFSET, raw, 0, 16);
        }
        try {
            return new WireEndpoint(kind, InetAddress.getByAddress(raw), port(b, off));
        } catch (UnknownHostException e) {
            throw new IllegalStateException("a 4- or 16-byte address is always valid", e);
        }
    }

    /**
     * Checks the 19 bytes at {@code off}, which the caller has made sure are there.
     *
     * @param allowedKinds the {@link Kind#bit()}s this field may carry
     * @return {@code null} if well formed
     */
    public static V2Rejection check(byte[] b, int off, int allowedKinds) {
        int descriptor = b[off] & 0xff;
        int family = descriptor & 0x0f;
        Kind kind = Kind.of(descriptor >>> 4);
        if (family != FAMILY_IPV4 && family != FAMILY_IPV6) {
            return V2Rejection.ENDPOINT;
        }
        if (kind == null) {
            return V2Rejection.ENDPOINT;
        }
        if ((allowedKinds & kind.bit()) == 0) {
            return V2Rejection.ENDPOINT_KIND;
        }
        int a = off + ADDRESS_OFFSET;
        boolean mapped = isV4MappedPrefix(b, a);
        if (family == FAMILY_IPV4) {
            if (!mapped || (b[a + 12] | b[a + 13] | b[a + 14] | b[a + 15]) == 0) {
                return V2Rejection.ENDPOINT;
            }
        } else {
            if (mapped) {
                return V2Rejection.ENDPOINT;
            }
            int any = 0;
            for (int i = 0; i < 16; i++) {
                any |= b[a + i];
            }
            if (any == 0) {
                return V2Rejection.ENDPOINT;
            }
        }
        return port(b, off) == 0 ? V2Rejection.ENDPOINT : null;
    }

    private static boolean isV4MappedPrefix(byte[] b, int a) {
        int zero = 0;
        for (int i = 0; i < 10; i++) {
            zero |= b[a + i];
        }
        return zero == 0 && b[a + 10] == (byte) 0xff && b[a + 11] == (byte) 0xff;
    }

    /** The kind code (high nibble of the descriptor). */
    public static int kindCode(byte[] b, int off) {
        return (b[off] & 0xff) >>> 4;
    }

    /** 4 or 6. */
    public static int family(byte[] b, int off) {
        return b[off] & 0x0f;
    }

    public static int port(byte[] b, int off) {
        return Wire.readUnsignedShort(b, off + PORT_OFFSET);
    }

    /** The IPv4 address of a family-4 endpoint, as a big-endian int. */
    public static int ipv4(byte[] b, int off) {
        return Wire.readInt(b, off + ADDRESS_OFFSET + 12);
    }

    /** Writes an IPv4 endpoint in mapped form; returns {@code off + 19}. */
    public static int writeIpv4(byte[] b, int off, int kindCode, int ipv4, int port) {
        b[off] = (byte) (kindCode << 4 | FAMILY_IPV4);
        for (int i = 0; i < 10; i++) {
            b[off + ADDRESS_OFFSET + i] = 0;
        }
        b[off + ADDRESS_OFFSET + 10] = (byte) 0xff;
        b[off + ADDRESS_OFFSET + 11] = (byte) 0xff;
        Wire.writeInt(b, off + ADDRESS_OFFSET + 12, ipv4);
        Wire.writeShort(b, off + PORT_OFFSET, port);
        return off + LENGTH;
    }

    /** Writes an IPv6 endpoint from 16 address bytes; returns {@code off + 19}. */
    public static int writeIpv6(byte[] b, int off, int kindCode, byte[] address, int addressOff, int port) {
        b[off] = (byte) (kindCode << 4 | FAMILY_IPV6);
        System.arraycopy(address, addressOff, b, off + ADDRESS_OFFSET, 16);
        Wire.writeShort(b, off + PORT_OFFSET, port);
        return off + LENGTH;
    }

    /** Whether the endpoints at {@code a} and {@code c} have the same family, address and port (kind ignored). */
    public static boolean sameAddressAndPort(byte[] b1, int a, byte[] b2, int c) {
        int diff = (b1[a] ^ b2[c]) & 0x0f;
        for (int i = 1; i < LENGTH; i++) {
            diff |= b1[a + i] ^ b2[c + i];
        }
        return diff == 0;
    }

    @Override
    public String toString() {
        String host = address.getHostAddress();
        return kind + " " + (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
    }
}
