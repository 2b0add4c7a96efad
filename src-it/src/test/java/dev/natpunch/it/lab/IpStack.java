package dev.natpunch.it.lab;

/** Which address families a lab host or router has on its interfaces. */
public enum IpStack {
    /** IPv4 only, as on a legacy network. */
    IPV4_ONLY,
    /** IPv4 and IPv6 on the same interface, the usual case today. */
    DUAL_STACK,
    /** IPv6 only: no IPv4 address and no IPv4 route, only loopback knows 127.0.0.1. */
    IPV6_ONLY;

    boolean hasIpv4() {
        return this != IPV6_ONLY;
    }

    boolean hasIpv6() {
        return this != IPV4_ONLY;
    }
}
