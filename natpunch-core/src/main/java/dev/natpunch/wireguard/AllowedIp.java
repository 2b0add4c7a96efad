package dev.natpunch.wireguard;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * One entry of a peer's allowed IPs: an address and a prefix length, written {@code 10.0.0.0/24}
 * or {@code fd00::/64}. Immutable. The address is kept as given (host bits are not cleared),
 * which is how WireGuard reports it back.
 */
public final class AllowedIp {
    private final InetAddress address;
    private final int prefixLength;

    private AllowedIp(InetAddress address, int prefixLength) {
        this.address = address;
        this.prefixLength = prefixLength;
    }

    /**
     * @throws IllegalArgumentException if the prefix length does not fit the address family
     *     (0..32 for IPv4, 0..128 for IPv6)
     */
    public static AllowedIp of(InetAddress address, int prefixLength) {
        Objects.requireNonNull(address, "address");
        int max = address instanceof Inet4Address ? 32 : 128;
        if (prefixLength < 0 || prefixLength > max) {
            throw new IllegalArgumentException(
                    "prefix length " + prefixLength + " is outside 0.." + max + " for " + IpText.format(address));
        }
        return new AllowedIp(address, prefixLength);
    }

    /**
     * Parses {@code address/prefix}, with an IPv4 or IPv6 literal (never a host name: nothing is
     * looked up in DNS).
     *
     * @throws IllegalArgumentException with a message naming the bad part
     */
    public static AllowedIp parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not an allowed IP: '" + text + "' has no /prefix (e.g. 10.0.0.0/24)");
        }
        InetAddress address = IpText.parse(text.substring(0, slash));
        String prefix = text.substring(slash + 1);
        if (prefix.isEmpty() || prefix.length() > 3 || !prefix.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("not an allowed IP: bad prefix length in '" + text + "'");
        }
        return of(address, Integer.parseInt(prefix));
    }

    public InetAddress address() {
        return address;
    }

    public int prefixLength() {
        return prefixLength;
    }

    /** {@code 10.0.0.0/24}, {@code fd00::/64}: the form {@link #parse} reads and {@code wg} prints. */
    @Override
    public String toString() {
        return IpText.format(address) + "/" + prefixLength;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AllowedIp
                && ((AllowedIp) o).prefixLength == prefixLength
                && ((AllowedIp) o).address.equals(address);
    }

    @Override
    public int hashCode() {
        return address.hashCode() * 31 + prefixLength;
    }
}
