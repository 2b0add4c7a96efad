package dev.natpunch.it.lab;

/**
 * What a router does for IPv6 on its LAN. IPv6 is never translated: a LAN host's address is
 * its public address, and the prefix is routed to the router's WAN address across the internet.
 */
public enum Ipv6Lan {
    /** No IPv6 on the LAN (the hosts behind the router have IPv4 only). */
    NONE,
    /**
     * Routed, behind the stateful firewall of a home router: anything may leave, and from the
     * internet only packets of flows a LAN host started (conntrack established or related) get in.
     */
    FIREWALLED,
    /** Routed with nothing filtered, like a server network: every LAN host is reachable. */
    OPEN
}
