package dev.natpunch.it.lab;

import java.net.InetAddress;

/**
 * A NAT router: interface {@code wan} on the lab internet, bridge {@code lan} as the gateway of
 * 100.64.N.0/24, an nftables table {@code npl_nat} that source-NATs what leaves {@code wan}, and
 * a table {@code npl_fw} that drops unsolicited packets arriving on {@code wan} (conntrack state
 * not established/related), as home routers do.
 */
public final class Router implements Node {
    private final String name;
    private final String namespace;
    private final InetAddress publicAddress;
    private final int lanIndex;
    private final boolean hairpin;
    private volatile NatKind natKind;

    Router(String name, String namespace, InetAddress publicAddress, int lanIndex, NatKind natKind, boolean hairpin) {
        this.hairpin = hairpin;
        this.name = name;
        this.namespace = namespace;
        this.publicAddress = publicAddress;
        this.lanIndex = lanIndex;
        this.natKind = natKind;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String namespace() {
        return namespace;
    }

    /** The address of {@code wan}, the one the internet sees for every host behind this router. */
    public InetAddress publicAddress() {
        return publicAddress;
    }

    /** N in this router's LAN 100.64.N.0/24. */
    public int lanIndex() {
        return lanIndex;
    }

    /** Whether LAN hosts reach each other through the public address and their mappings. */
    public boolean hairpin() {
        return hairpin;
    }

    public NatKind natKind() {
        return natKind;
    }

    void natKind(NatKind kind) {
        this.natKind = kind;
    }

    @Override
    public String toString() {
        return name + "(" + publicAddress.getHostAddress() + ", " + natKind + ")";
    }
}
