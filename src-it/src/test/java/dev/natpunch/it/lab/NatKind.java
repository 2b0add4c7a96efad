package dev.natpunch.it.lab;

/**
 * How a lab NAT router maps a private UDP source address:port to its public address, and which
 * senders it lets in, in the RFC 4787 sense. All kinds but {@link #FULL_CONE} filter replies by
 * address and port (Linux conntrack); hairpinning is a router option.
 */
public enum NatKind {
    /**
     * nftables {@code masquerade}: one mapping per private address:port for every destination
     * (endpoint-independent), keeping the private port when it is free on the public address.
     */
    EIM_PORT_PRESERVING,
    /**
     * nftables {@code snat} to a port looked up by a hash of the private address:port (4096
     * buckets, seeded per router): endpoint independent, but the public port lies in {@link Lab#PORT_CHANGING_FIRST}..{@link
     * Lab#PORT_CHANGING_LAST} and so differs from any private port chosen outside that range.
     * Only UDP is port-changed; other protocols are masqueraded.
     */
    EIM_PORT_CHANGING,
    /**
     * nftables {@code masquerade fully-random}: a fresh random public port for every destination
     * (address and port dependent mapping), the NAT that hole punching through a rendezvous
     * server cannot traverse.
     */
    SYMMETRIC,
    /**
     * {@link #EIM_PORT_PRESERVING}'s mapping with endpoint-independent filtering (a "full cone",
     * RFC 4787 REQ-8's recommendation): once a private address:port has sent anything out, UDP
     * from any address and port to its public mapping reaches it (an nftables dynamic map of the
     * mappings and a DNAT through it). A peer behind it can be reached even from a symmetric NAT.
     */
    FULL_CONE
}
