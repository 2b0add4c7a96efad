package dev.natpunch.it.lab;

import java.net.InetAddress;

/**
 * A NAT router: interface {@code wan} on the lab internet, bridge {@code lan} as the gateway of
 * 100.64.N.0/24, and an nftables table {@code npl_nat} that source-NATs what leaves {@code wan}.
 */
public final class Router implements Node {
    private final String name;
    private final String namespace;
    private final InetAddress publicAddress;
    private final int lanIndex;
    private volatile NatKind natKind;

    Router(String name, String namespace, InetAddress publicAddress, int lanIndex, NatKind natKind) {
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
