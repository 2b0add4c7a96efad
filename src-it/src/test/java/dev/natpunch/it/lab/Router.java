package dev.natpunch.it.lab;

import java.net.InetAddress;
import java.util.Optional;

/**
 * A router between the lab internet (interface {@code wan}) and its LAN (bridge {@code lan}).
 * For IPv4 (unless {@link IpStack#IPV6_ONLY}) it is a NAT: gateway 100.64.N.1 of
 * 100.64.N.0/24, an nftables table {@code npl_nat} that source-NATs what leaves {@code wan}, and
 * a table {@code npl_fw} that drops unsolicited packets arriving on {@code wan} (conntrack state
 * not established/related), as home routers do, unless a {@link NatKind#FULL_CONE} NAT (table
 * {@code npl_cone}) forwards them to a mapping's owner. For IPv6 its {@code wan} always has an address on
 * the internet prefix; the LAN prefix fd64:ID:N::/64, if any, is routed without NAT and filtered
 * as its {@link Ipv6Lan} says (table {@code npl_fw6}).
 */
public final class Router implements Node {
    private final String name;
    private final String namespace;
    private final InetAddress publicAddress;
    private final InetAddress publicAddress6;
    private final int lanIndex;
    private final boolean hairpin;
    private final IpStack stack;
    private final Ipv6Lan ipv6Lan;
    private final String lanPrefix6;
    private volatile NatKind natKind;

    Router(String name, String namespace, InetAddress publicAddress, InetAddress publicAddress6, int lanIndex,
            NatKind natKind, boolean hairpin, IpStack stack, Ipv6Lan ipv6Lan, String lanPrefix6) {
        this.name = name;
        this.namespace = namespace;
        this.publicAddress = publicAddress;
        this.publicAddress6 = publicAddress6;
        this.lanIndex = lanIndex;
        this.natKind = natKind;
        this.hairpin = hairpin;
        this.stack = stack;
        this.ipv6Lan = ipv6Lan;
        this.lanPrefix6 = lanPrefix6;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String namespace() {
        return namespace;
    }

    /**
     * The IPv4 address of {@code wan}, the one the internet sees for every host behind this router.
     *
     * @throws IllegalStateException on an IPv6-only router, whose hosts share no public address
     */
    public InetAddress publicAddress() {
        if (publicAddress == null) {
            throw new IllegalStateException(name + " is IPv6-only: no public IPv4 address");
        }
        return publicAddress;
    }

    /** The IPv6 address of {@code wan} (fd18:ID::X); the LAN prefix is routed to it. */
    public InetAddress publicAddress6() {
        return publicAddress6;
    }

    /** N in this router's LANs 100.64.N.0/24 and fd64:ID:N::/64. */
    public int lanIndex() {
        return lanIndex;
    }

    /** Whether LAN hosts reach each other through the public address and their mappings. */
    public boolean hairpin() {
        return hairpin;
    }

    /** The address families of {@code wan} and of the LAN. */
    public IpStack stack() {
        return stack;
    }

    /** How IPv6 reaches the LAN. */
    public Ipv6Lan ipv6Lan() {
        return ipv6Lan;
    }

    /** The routed LAN prefix, e.g. {@code fd64:1a2b:3::/64}, empty without IPv6 on the LAN. */
    public Optional<String> lanPrefix6() {
        return Optional.ofNullable(lanPrefix6);
    }

    /**
     * How the IPv4 NAT maps.
     *
     * @throws IllegalStateException on an IPv6-only router, which has no NAT
     */
    public NatKind natKind() {
        if (natKind == null) {
            throw new IllegalStateException(name + " is IPv6-only: no NAT");
        }
        return natKind;
    }

    void natKind(NatKind kind) {
        this.natKind = kind;
    }

    @Override
    public String toString() {
        return name + "(" + (publicAddress != null ? publicAddress.getHostAddress() + ", " + natKind : "IPv6-only")
                + (ipv6Lan == Ipv6Lan.NONE ? "" : ", " + publicAddress6.getHostAddress() + " " + ipv6Lan) + ")";
    }
}
