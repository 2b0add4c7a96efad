package dev.natpunch.it.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A small internet of Linux network namespaces with real nftables NAT and real (userspace)
 * WireGuard, for integration tests.
 *
 * <pre>
 *          namespace npl-ID-inet: bridge br0, no address (the "internet", 198.18.0.0/24 and fd18:ID::/64)
 *          +-----------------+------------------------+
 *          |                 |                        |
 *   public host          public host           router (wan 198.18.0.X and fd18:ID::X, NAT for IPv4)
 *   eth0 198.18.0.A      eth0 fd18:ID::B       lan bridge 100.64.N.1/24 [fd64:ID:N::1/64]
 *        fd18:ID::A      (IPv6-only)               |               |
 *                                             LAN host        LAN host
 *                                             eth0 100.64.N.2  eth0 100.64.N.3 (default via .1)
 *                                             [fd64:ID:N::2]   [fd64:ID:N::3]  (default via ::1)
 * </pre>
 *
 * Routers drop unsolicited packets arriving on {@code wan} (conntrack state neither established
 * nor related), source-NAT IPv4 that leaves it according to their {@link NatKind}, filter replies
 * by address and port (Linux conntrack) except a {@link NatKind#FULL_CONE}, which lets anyone in
 * through an existing mapping, and hairpin only if asked to. IPv6 is routed without
 * translation: a router given a LAN prefix ({@link RouterBuilder#ipv6(Ipv6Lan)}) gets a route to
 * it in every namespace on the internet, and lets in only replies ({@link Ipv6Lan#FIREWALLED}) or
 * everything ({@link Ipv6Lan#OPEN}). Hosts and routers can be IPv6-only ({@link IpStack}). Loss
 * is simulated with nftables ({@link #setLoss(Node, int)}) because this kernel has no sch_netem.
 *
 * <p>Every namespace is named {@code npl-ID-NAME}, where ID is four random hex digits per lab, and
 * every WireGuard interface {@code nplIDwK}, because wireguard-go's UAPI sockets live in the
 * filesystem-global /var/run/wireguard; the IPv6 prefixes contain ID too, so that concurrent labs
 * never share an address. The root namespace is never changed. Creating a lab first
 * removes what crashed labs left behind (namespaces, their processes, UAPI sockets); {@link
 * #close()} tears down everything this lab made, in reverse order, even after partial failures.
 * Commands run through {@code ip netns exec}; processes the JVM cannot enter a namespace, so
 * UDP probes and echoes run as small separate JVMs ({@link UdpEcho}). Public addresses are handed
 * out from 198.18.0.2 and fd18:ID::2 upwards in creation order (an IPv6-only node uses up its
 * IPv4 number too); router N (from 1) gets LANs 100.64.N.0/24 and fd64:ID:N::/64 and its hosts
 * get .2, .3, ... and ::2, ::3, ...
 */
public final class Lab implements AutoCloseable {
    /** Namespace and interface prefix owned by this fixture. */
    public static final String PREFIX = "npl";
    /** The range {@link NatKind#EIM_PORT_CHANGING} maps UDP source ports into. */
    public static final int PORT_CHANGING_FIRST = 40000;
    public static final int PORT_CHANGING_LAST = 44095;
    private static final int PORT_CHANGING_BUCKETS = PORT_CHANGING_LAST - PORT_CHANGING_FIRST + 1;
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final Path STATE_DIR = Path.of("/run/npl-lab");
    private static final Path WG_SOCKET_DIR = Path.of("/var/run/wireguard");
    private static final Set<String> LIVE_IDS = ConcurrentHashMap.newKeySet();
    private static final List<String> TOOLS = List.of("ip", "nft", "wg", "wireguard-go", "conntrack", "ping", "setsid", "kill");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String id;
    private final Path workDir;
    private final String internetNamespace;
    private final Deque<Runnable> teardown = new ArrayDeque<>();
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final Map<Router, Integer> lanHostCount = new LinkedHashMap<>();
    private final Map<Router, Integer> natSeeds = new LinkedHashMap<>();
    /** Namespace -> its interface on the internet, which gets a route to every routed IPv6 LAN. */
    private final Map<String, String> internetInterfaces = new LinkedHashMap<>();
    /** Routed IPv6 LAN prefix -> the router's address on the internet. */
    private final Map<String, InetAddress> lanRoutes6 = new LinkedHashMap<>();
    private final Map<String, Uplink> uplinks = new LinkedHashMap<>();
    private int nextPublicOctet = 2;
    private int nextRouterIndex = 1;
    private int nextPort = 0;
    private int nextWg = 0;
    private boolean closed;

    private Lab(String id) {
        this.id = id;
        this.internetNamespace = namespaceName("inet");
        try {
            this.workDir = Files.createTempDirectory(PREFIX + "-" + id + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Builds an empty lab (just the internet) after removing leftovers of crashed labs. Skips the
     * calling test, through {@link Assumptions}, when not root or a needed tool is missing.
     */
    public static Lab create() {
        assumeAvailable();
        cleanupStale();
        String id;
        do {
            id = HexFormat.of().toHexDigits((short) RANDOM.nextInt(1 << 16));
        } while (!LIVE_IDS.add(id));
        Lab lab = new Lab(id);
        try {
            lab.registerOwner();
            lab.addNamespace(lab.internetNamespace);
            lab.ip("-n", lab.internetNamespace, "link", "add", "br0", "type", "bridge");
            lab.ip("-n", lab.internetNamespace, "link", "set", "br0", "up");
            return lab;
        } catch (RuntimeException e) {
            lab.close();
            throw e;
        }
    }

    /** Skips the calling test unless running as root with ip, nft, wg, wireguard-go, conntrack and ping. */
    public static void assumeAvailable() {
        Assumptions.assumeTrue(isRoot(), "the network lab needs root (network namespaces, nftables)");
        for (String tool : TOOLS) {
            Assumptions.assumeTrue(onPath(tool), "the network lab needs '" + tool + "' on PATH");
        }
    }

    /** This lab's four hex digits, part of every namespace and interface name it makes. */
    public String id() {
        return id;
    }

    // ---------------------------------------------------------------- topology

    /** A dual-stack host on the internet with the next free public addresses. */
    public Host addPublicHost(String name) {
        return addPublicHost(name, IpStack.DUAL_STACK);
    }

    /** A host on the internet with the next free public address of each family of {@code stack}. */
    public synchronized Host addPublicHost(String name, IpStack stack) {
        String ns = claimName(name);
        int octet = nextPublicOctet();
        addNamespace(ns);
        String port = "p" + nextPort++;
        ip("-n", internetNamespace, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("-n", internetNamespace, "link", "set", port, "master", "br0", "up");
        uplinks.put(ns, new Uplink(internetNamespace, port));
        InetAddress v4 = stack.hasIpv4() ? publicAddress4(octet) : null;
        InetAddress v6 = stack.hasIpv6() ? publicAddress6(octet) : null;
        if (v4 != null) {
            ip("-n", ns, "addr", "add", v4.getHostAddress() + "/24", "dev", "eth0");
        }
        ip("-n", ns, "link", "set", "eth0", "up");
        if (v6 != null) {
            attachToInternet6(ns, "eth0", v6);
        }
        Host host = new Host(name, ns, v4, v6, null);
        nodes.put(name, host);
        return host;
    }

    /** A dual-stack NAT router without IPv6 on its LAN, with the next free public addresses and the next LAN. */
    public Router addRouter(String name, NatKind kind) {
        return router(name).nat(kind).add();
    }

    /**
     * Like {@link #addRouter(String, NatKind)}; with {@code hairpin}, a UDP packet from the LAN to
     * the router's public address and a port that maps a LAN host's flow (one that has left
     * through {@code wan}) is sent to that host with the sender's own public mapping as source,
     * as RFC 4787 REQ-9 asks. Without it, such packets die at the router, as on stock Linux.
     */
    public Router addRouter(String name, NatKind kind, boolean hairpin) {
        return router(name).nat(kind).hairpin(hairpin).add();
    }

    /** Starts describing a router; {@link RouterBuilder#add()} creates it. */
    public RouterBuilder router(String name) {
        return new RouterBuilder(name);
    }

    /**
     * The options of a new router. By default: dual-stack {@code wan}, an IPv4-only LAN behind a
     * {@link NatKind#EIM_PORT_PRESERVING} NAT, no hairpinning.
     */
    public final class RouterBuilder {
        private final String name;
        private NatKind kind = NatKind.EIM_PORT_PRESERVING;
        private boolean hairpin;
        private Ipv6Lan ipv6Lan = Ipv6Lan.NONE;
        private boolean ipv6Only;

        private RouterBuilder(String name) {
            this.name = name;
        }

        /** How the IPv4 NAT maps (meaningless on an IPv6-only router). */
        public RouterBuilder nat(NatKind kind) {
            this.kind = java.util.Objects.requireNonNull(kind, "kind");
            return this;
        }

        /** IPv4 hairpinning, see {@link Lab#addRouter(String, NatKind, boolean)}. */
        public RouterBuilder hairpin(boolean hairpin) {
            this.hairpin = hairpin;
            return this;
        }

        /** Gives the LAN a routed IPv6 prefix, filtered as {@code mode} says. */
        public RouterBuilder ipv6(Ipv6Lan mode) {
            this.ipv6Lan = java.util.Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * No IPv4 at all, neither on {@code wan} nor on the LAN, so no NAT; the LAN is IPv6
         * {@link Ipv6Lan#FIREWALLED} unless {@link #ipv6(Ipv6Lan)} says {@link Ipv6Lan#OPEN}.
         */
        public RouterBuilder ipv6Only() {
            this.ipv6Only = true;
            return this;
        }

        /** Creates the router and its LAN. */
        public Router add() {
            if (ipv6Only && ipv6Lan == Ipv6Lan.NONE) {
                ipv6Lan = Ipv6Lan.FIREWALLED;
            }
            if (ipv6Only && hairpin) {
                throw new IllegalArgumentException("hairpinning is an IPv4 NAT feature; " + name + " is IPv6-only");
            }
            return createRouter(name, ipv6Only ? null : kind, hairpin,
                    ipv6Only ? IpStack.IPV6_ONLY : IpStack.DUAL_STACK, ipv6Lan);
        }
    }

    private synchronized Router createRouter(String name, NatKind kind, boolean hairpin, IpStack stack, Ipv6Lan ipv6Lan) {
        String ns = claimName(name);
        int octet = nextPublicOctet();
        int lan = nextRouterIndex++;
        if (lan > 254) {
            throw new LabException("out of LANs");
        }
        addNamespace(ns);
        String port = "p" + nextPort++;
        ip("-n", internetNamespace, "link", "add", port, "type", "veth", "peer", "name", "wan", "netns", ns);
        ip("-n", internetNamespace, "link", "set", port, "master", "br0", "up");
        uplinks.put(ns, new Uplink(internetNamespace, port));
        InetAddress v4 = stack.hasIpv4() ? publicAddress4(octet) : null;
        InetAddress v6 = publicAddress6(octet);
        if (v4 != null) {
            ip("-n", ns, "addr", "add", v4.getHostAddress() + "/24", "dev", "wan");
        }
        ip("-n", ns, "link", "set", "wan", "up");
        ip("-n", ns, "link", "add", "lan", "type", "bridge");
        if (v4 != null) {
            ip("-n", ns, "addr", "add", "100.64." + lan + ".1/24", "dev", "lan");
        }
        ip("-n", ns, "link", "set", "lan", "up");
        String prefix6 = ipv6Lan == Ipv6Lan.NONE ? null : lanPrefix6(lan);
        Router router = new Router(name, ns, v4, v6, lan, kind, hairpin, stack, ipv6Lan,
                prefix6 == null ? null : prefix6 + "/64");
        nodes.put(name, router);
        lanHostCount.put(router, 0);
        natSeeds.put(router, RANDOM.nextInt() & 0x7fffffff);
        if (v4 != null) {
            run(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            runWithInput(ns, natRuleset(router, kind, true), "nft", "-f", "-");
            if (hairpin) {
                runWithInput(ns, hairpinRuleset(router), "nft", "-f", "-");
            }
        }
        runWithInput(ns, firewall6Ruleset(ipv6Lan), "nft", "-f", "-");
        attachToInternet6(ns, "wan", v6);
        if (prefix6 != null) {
            run(ns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
            ip("-n", ns, "-6", "addr", "add", prefix6 + "1/64", "dev", "lan", "nodad");
            String route = prefix6 + "/64";
            for (Map.Entry<String, String> e : internetInterfaces.entrySet()) {
                if (!e.getKey().equals(ns)) {
                    ip("-n", e.getKey(), "-6", "route", "add", route, "via", v6.getHostAddress(), "dev", e.getValue());
                }
            }
            lanRoutes6.put(route, v6);
        }
        return router;
    }

    /** A host on {@code router}'s LAN with the next free addresses of the LAN, routed through it. */
    public synchronized Host addHost(Router router, String name) {
        String ns = claimName(name);
        addNamespace(ns);
        LanAddresses a = plugIntoLan(ns, router);
        Host host = new Host(name, ns, a.v4(), a.v6(), router);
        nodes.put(name, host);
        return host;
    }

    /**
     * Connects namespace {@code ns} (with no {@code eth0} yet) to {@code router}'s LAN: the next
     * free addresses of each family the LAN has, default routes through the router.
     */
    private LanAddresses plugIntoLan(String ns, Router router) {
        int count = lanHostCount.get(router) + 1;
        if (count > 253) {
            throw new LabException("LAN of " + router + " is full");
        }
        lanHostCount.put(router, count);
        int lan = router.lanIndex();
        InetAddress v4 = router.stack().hasIpv4() ? parse("100.64." + lan + "." + (count + 1)) : null;
        InetAddress v6 = router.ipv6Lan() == Ipv6Lan.NONE ? null : parse(lanPrefix6(lan) + (count + 1));
        String port = "h" + nextPort++;
        ip("-n", router.namespace(), "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("-n", router.namespace(), "link", "set", port, "master", "lan", "up");
        if (v4 != null) {
            ip("-n", ns, "addr", "add", v4.getHostAddress() + "/24", "dev", "eth0");
        }
        if (v6 != null) {
            ip("-n", ns, "-6", "addr", "add", v6.getHostAddress() + "/64", "dev", "eth0", "nodad");
        }
        ip("-n", ns, "link", "set", "eth0", "up");
        if (v4 != null) {
            ip("-n", ns, "route", "add", "default", "via", "100.64." + lan + ".1");
        }
        if (v6 != null) {
            ip("-n", ns, "-6", "route", "add", "default", "via", lanPrefix6(lan) + "1", "dev", "eth0");
        }
        uplinks.put(ns, new Uplink(router.namespace(), port));
        return new LanAddresses(v4, v6);
    }

    private record LanAddresses(InetAddress v4, InetAddress v6) {
    }

    /** The far end of a namespace's {@code eth0} or {@code wan}: the switch port it is plugged into. */
    private record Uplink(String namespace, String port) {
    }

    /**
     * Gives {@code dev} of {@code ns} its address on the internet's IPv6 prefix and routes to every
     * routed LAN prefix so far, and remembers it for the LANs routed later.
     */
    private void attachToInternet6(String ns, String dev, InetAddress address) {
        ip("-n", ns, "-6", "addr", "add", address.getHostAddress() + "/64", "dev", dev, "nodad");
        for (Map.Entry<String, InetAddress> e : lanRoutes6.entrySet()) {
            ip("-n", ns, "-6", "route", "add", e.getKey(), "via", e.getValue().getHostAddress(), "dev", dev);
        }
        internetInterfaces.put(ns, dev);
    }

    /**
     * Unplugs {@code host} from its router's LAN and plugs it into {@code to}'s, as a laptop
     * moves to another network: its {@code eth0} is replaced, with the next free addresses of the
     * new LAN and routes through the new router. Processes on the host (wireguard-go, a client)
     * keep running; sockets bound to the wildcard address carry on from the new addresses.
     */
    public synchronized void moveHost(Host host, Router to) {
        checkOpen();
        Router from = host.router().orElseThrow(() -> new IllegalArgumentException(host + " is not on a LAN"));
        if (from == to) {
            throw new IllegalArgumentException(host + " is already behind " + to);
        }
        Uplink old = uplinks.remove(host.namespace());
        // deleting one end of the veth pair deletes eth0 with its addresses and routes
        ip("-n", old.namespace(), "link", "del", old.port());
        LanAddresses a = plugIntoLan(host.namespace(), to);
        host.place(a.v4(), a.v6(), to);
    }

    /**
     * Pulls {@code node}'s cable: the switch port ({@code inet} for public hosts and routers, the
     * router's LAN for LAN hosts) goes down, so nothing gets in or out, silently, while the
     * node's own configuration stays as it was. A router takes its whole LAN off the internet.
     */
    public synchronized void disconnect(Node node) {
        Uplink u = uplink(node);
        ip("-n", u.namespace(), "link", "set", u.port(), "down");
    }

    /** Plugs the cable {@link #disconnect(Node)} pulled back in. */
    public synchronized void reconnect(Node node) {
        Uplink u = uplink(node);
        ip("-n", u.namespace(), "link", "set", u.port(), "up");
    }

    private Uplink uplink(Node node) {
        checkOpen();
        Uplink u = uplinks.get(node.namespace());
        if (u == null) {
            throw new IllegalArgumentException("no node " + node + " in lab " + id);
        }
        return u;
    }

    /** The host or router added under {@code name}. */
    public synchronized Node node(String name) {
        Node node = nodes.get(name);
        if (node == null) {
            throw new IllegalArgumentException("no node " + name + " in lab " + id);
        }
        return node;
    }

    /**
     * Replaces the NAT rules of {@code router}. Flows that already have a conntrack entry keep
     * their mapping until it expires or {@link #flushConntrack(Router)} is called.
     */
    public synchronized void setNatKind(Router router, NatKind kind) {
        if (!router.stack().hasIpv4()) {
            throw new IllegalStateException(router.name() + " is IPv6-only: no NAT");
        }
        runWithInput(router.namespace(), natRuleset(router, kind, false), "nft", "-f", "-");
        router.natKind(kind);
    }

    /**
     * What a NAT router's reboot does to its mappings: every one is forgotten ({@link
     * #flushConntrack(Router)}) and a {@link NatKind#EIM_PORT_CHANGING} NAT gets a new hash seed,
     * so that new flows of a private address:port leave from another public port (the same one
     * again with a chance of 1 in 4096). A port-preserving NAT keeps the private port where it can.
     */
    public synchronized void rebootNat(Router router) {
        natSeeds.put(router, RANDOM.nextInt() & 0x7fffffff);
        setNatKind(router, router.natKind());
        flushConntrack(router);
    }

    /** Forgets every NAT mapping and connection (IPv4 and IPv6) of {@code router}. */
    public void flushConntrack(Router router) {
        for (String family : List.of("ipv4", "ipv6")) {
            ExecResult r = exec(router, "conntrack", "-F", "-f", family);
            // conntrack -F exits 1 on some versions when the table was already empty
            if (!r.ok() && !r.stderr().contains("0 flow entries")) {
                throw new LabException("conntrack -F in " + router + ": " + r);
            }
        }
    }

    /**
     * Drops {@code percent}% of the packets entering and of those leaving {@code node}'s namespace
     * (each packet independently, nftables {@code numgen random}); 0 removes the loss. On a router
     * this hits forwarded packets once each, in both directions. tc netem is not used: this
     * kernel has no sch_netem.
     */
    public void setLoss(Node node, int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent " + percent);
        }
        exec(node, "nft", "delete", "table", "inet", "npl_loss");
        if (percent == 0) {
            return;
        }
        String rule = percent == 100 ? "drop" : "numgen random mod 100 < " + percent + " drop";
        runWithInput(node.namespace(), "table inet npl_loss {\n"
                + " chain pre { type filter hook prerouting priority -300; policy accept; " + rule + "; }\n"
                + " chain out { type filter hook output priority -300; policy accept; " + rule + "; }\n"
                + "}\n", "nft", "-f", "-");
    }

    /*
     * IPv6 is routed, not translated. Neighbour discovery has no conntrack state, so it must be let
     * in explicitly; everything else unsolicited from the internet stops at the router itself, and
     * at the LAN too unless the LAN is open.
     */
    private static String firewall6Ruleset(Ipv6Lan mode) {
        return "table ip6 npl_fw6 {\n"
                + " chain input { type filter hook input priority filter; policy accept;\n"
                + "  iifname \"wan\" ct state { established, related } accept\n"
                + "  iifname \"wan\" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n"
                + "  iifname \"wan\" drop\n"
                + " }\n"
                + " chain forward { type filter hook forward priority filter; policy accept;\n"
                + (mode == Ipv6Lan.FIREWALLED ? "  iifname \"wan\" ct state != { established, related } drop\n" : "")
                + " }\n"
                + "}\n";
    }

    /**
     * Drops {@code percent}% of the packets crossing the internet switch, each packet
     * independently, once per crossing: every datagram between two sites (a peer and the server,
     * two peers behind different routers) is lost with that probability in each direction. ARP
     * and IPv6 neighbour discovery are spared, so the loss hits traffic, not the link layer. 0
     * removes the loss. Unlike {@link #setLoss(Node, int)} on every node, which compounds over the
     * three or four namespaces a packet crosses, this is the loss a path sees.
     */
    public synchronized void setInternetLoss(int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent " + percent);
        }
        execIn(internetNamespace, DEFAULT_TIMEOUT, null, "nft", "delete", "table", "bridge", "npl_loss");
        if (percent == 0) {
            return;
        }
        String rule = percent == 100 ? "drop" : "numgen random mod 100 < " + percent + " drop";
        runWithInput(internetNamespace, "table bridge npl_loss {\n"
                + " chain forward { type filter hook forward priority -300; policy accept;\n"
                + "  ether type arp accept\n"
                + "  icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n"
                + "  " + rule + "\n"
                + " }\n"
                + "}\n", "nft", "-f", "-");
    }

    private String natRuleset(Router router, NatKind kind, boolean create) {
        // Like a home router, drop unsolicited packets from the internet. Besides realism this
        // matters for punching: an early packet from the peer, accepted for local delivery,
        // would leave a conntrack entry holding the public port, and masquerade would then map
        // our own outgoing flow to a different port.
        StringBuilder sb = new StringBuilder();
        if (create) {
            sb.append("add table ip npl_fw\n")
                    .append("add chain ip npl_fw input { type filter hook input priority filter; policy accept; }\n")
                    .append("add rule ip npl_fw input iifname \"wan\" ct state != { established, related } drop\n")
                    .append("add chain ip npl_fw forward { type filter hook forward priority filter; policy accept; }\n")
                    // A full-cone NAT's destination NAT lets unsolicited flows in on purpose.
                    .append("add rule ip npl_fw forward iifname \"wan\" ct state != { established, related } ct status & dnat == 0 drop\n")
                    .append("add table ip npl_nat\n")
                    .append("add chain ip npl_nat postrouting { type nat hook postrouting priority srcnat; policy accept; }\n");
        } else {
            sb.append("flush chain ip npl_nat postrouting\n");
        }
        String pub = router.publicAddress().getHostAddress();
        String portChanging = "meta l4proto udp snat ip to " + pub + ":jhash ip saddr . udp sport mod "
                + PORT_CHANGING_BUCKETS + " seed " + natSeeds.get(router) + " map { " + portChangingMap() + " }";
        List<String> rules = new ArrayList<>();
        String wan = "oifname \"wan\" ";
        switch (kind) {
            case EIM_PORT_PRESERVING, FULL_CONE -> rules.add(wan + "masquerade");
            case EIM_PORT_CHANGING -> {
                rules.add(wan + portChanging);
                rules.add(wan + "masquerade");
            }
            case SYMMETRIC -> rules.add(wan + "masquerade fully-random");
        }
        if (router.hairpin()) {
            // masquerade would pick the LAN address; the hairpinned source must be the public one.
            // postrouting has no input interface, hence the match on the LAN prefix.
            String back = "ip saddr 100.64." + router.lanIndex() + ".0/24 oifname \"lan\" ct status dnat ";
            switch (kind) {
                case EIM_PORT_PRESERVING, FULL_CONE -> rules.add(back + "snat ip to " + pub);
                case EIM_PORT_CHANGING -> {
                    rules.add(back + portChanging);
                    rules.add(back + "snat ip to " + pub);
                }
                case SYMMETRIC -> rules.add(back + "snat ip to " + pub + " fully-random");
            }
        }
        for (String rule : rules) {
            sb.append("add rule ip npl_nat postrouting ").append(rule).append('\n');
        }
        sb.append("add table ip npl_cone\ndelete table ip npl_cone\n");
        if (kind == NatKind.FULL_CONE) {
            sb.append(fullConeRuleset(router));
        }
        return sb.toString();
    }

    /*
     * Endpoint-independent filtering on top of masquerade's endpoint-independent mapping: like the
     * hairpin table, a dynamic map learns each mapping (public port -> private address:port) from
     * the flows LAN hosts start toward the internet, and UDP from anyone to a mapped public port is
     * DNATed to its private owner (the firewall lets DNATed flows in). A mapping lives as long as
     * its host keeps sending, plus 3 minutes.
     */
    private static String fullConeRuleset(Router router) {
        return "table ip npl_cone {\n"
                + " map cone { type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 3m; }\n"
                + " chain learn { type filter hook postrouting priority srcnat + 10; policy accept;\n"
                + "  oifname \"wan\" meta l4proto udp ct direction original update @cone"
                + " { ct reply proto-dst : ct original ip saddr . ct original proto-src }\n"
                + " }\n"
                + " chain pre { type nat hook prerouting priority dstnat; policy accept;\n"
                + "  iifname \"wan\" ip daddr " + router.publicAddress().getHostAddress()
                + " meta l4proto udp dnat ip to udp dport map @cone\n"
                + " }\n"
                + "}\n";
    }

    /*
     * Hairpinning needs the reverse of the NAT's dynamic mappings (public port -> private
     * address:port). A dynamic map learns it from every UDP packet leaving through wan, after
     * source NAT has chosen the port; LAN packets to the public address are DNATed through it.
     * LAN UDP to the public address that matched no mapping is dropped before it can leave a
     * conntrack entry that would pin the flow to "no NAT" once the mapping appears.
     */
    private static String hairpinRuleset(Router router) {
        String pub = router.publicAddress().getHostAddress();
        return "table ip npl_hairpin {\n"
                + " map hp { type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 3m; }\n"
                + " chain learn { type filter hook postrouting priority srcnat + 10; policy accept;\n"
                + "  oifname \"wan\" meta l4proto udp update @hp { ct reply proto-dst : ct original ip saddr . ct original proto-src }\n"
                + " }\n"
                + " chain pre { type nat hook prerouting priority dstnat; policy accept;\n"
                + "  iifname \"lan\" ip daddr " + pub + " meta l4proto udp dnat ip to udp dport map @hp\n"
                + " }\n"
                + " chain in { type filter hook input priority filter; policy accept;\n"
                + "  iifname \"lan\" ip daddr " + pub + " meta l4proto udp drop\n"
                + " }\n"
                + "}\n";
    }

    /*
     * "snat to ADDR : jhash ... mod N offset M" is accepted by nft 1.0.6 but the kernel reads the
     * hash register as a big-endian port, so the ports come out byte-swapped and scattered over
     * the whole port space. Looking the hash up in a map of inet_service values stores real ports.
     */
    private static String portChangingMap() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < PORT_CHANGING_BUCKETS; i++) {
            sb.append(i == 0 ? "" : ", ").append(i).append(" : ").append(PORT_CHANGING_FIRST + i);
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- commands

    /** Runs {@code cmd} in {@code node}'s namespace, waiting at most 30 s. */
    public ExecResult exec(Node node, String... cmd) {
        return exec(node, DEFAULT_TIMEOUT, cmd);
    }

    /**
     * Runs {@code cmd} in {@code node}'s namespace and returns its exit code and output.
     *
     * @throws LabException if it did not finish within {@code timeout} (it is then killed)
     */
    public ExecResult exec(Node node, Duration timeout, String... cmd) {
        return execIn(node.namespace(), timeout, null, cmd);
    }

    /** Like {@link #exec(Node, Duration, String...)}, writing {@code stdin} to the command first. */
    public ExecResult execWithInput(Node node, Duration timeout, String stdin, String... cmd) {
        return execIn(node.namespace(), timeout, stdin, cmd);
    }

    /** Starts {@code cmd} in {@code node}'s namespace; the lab kills it at close if still running. */
    public BackgroundProcess start(Node node, String... cmd) {
        return start(node, Map.of(), cmd);
    }

    /** Like {@link #start(Node, String...)} with extra environment variables. */
    public synchronized BackgroundProcess start(Node node, Map<String, String> env, String... cmd) {
        checkOpen();
        List<String> argv = new ArrayList<>(List.of("setsid", "ip", "netns", "exec", node.namespace()));
        argv.addAll(Arrays.asList(cmd));
        Path log;
        try {
            log = Files.createTempFile(workDir, node.name() + "-", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LabException("cannot start " + argv, e);
        }
        BackgroundProcess bp = new BackgroundProcess(node.name() + ": " + String.join(" ", cmd), p, log);
        teardown.push(bp::close);
        return bp;
    }

    /** True if {@code from} gets an answer to one of two pings (1 s deadline) of {@code to}, IPv4 or IPv6. */
    public boolean canPing(Node from, InetAddress to) {
        return exec(from, Duration.ofSeconds(10), "ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "1",
                to.getHostAddress()).ok();
    }

    // ---------------------------------------------------------------- UDP probing

    /**
     * Starts a UDP echo on {@code host}:{@code port} that answers every datagram with the
     * sender's address:port as it saw it, and waits until it is bound.
     */
    public BackgroundProcess startUdpEcho(Host host, int port) {
        BackgroundProcess echo = start(host, javaCommand(UdpEcho.class, "serve", Integer.toString(port)));
        if (echo.awaitLine(Pattern.compile("^listening"), Duration.ofSeconds(20)).isEmpty()) {
            throw new LabException("UDP echo on " + host + " did not start: " + echo.output());
        }
        return echo;
    }

    /**
     * Sends UDP from one socket bound to {@code host}:{@code localPort} to each echo in turn and
     * returns, per echo, the source address:port the echo observed, i.e. the NAT mapping.
     */
    public List<InetSocketAddress> udpProbe(Host host, int localPort, InetSocketAddress... echoes) {
        List<String> args = new ArrayList<>(List.of("probe", Integer.toString(localPort)));
        for (InetSocketAddress e : echoes) {
            args.add(formatEndpoint(e));
        }
        ExecResult r = exec(host, Duration.ofSeconds(60), javaCommand(UdpEcho.class, args.toArray(String[]::new)));
        if (!r.ok()) {
            throw new LabException("UDP probe from " + host + " failed: " + r);
        }
        List<InetSocketAddress> seen = new ArrayList<>();
        for (String line : r.stdout().strip().split("\n")) {
            seen.add(parseEndpoint(line.substring(line.indexOf("seen ") + 5).strip()));
        }
        if (seen.size() != echoes.length) {
            throw new LabException("UDP probe from " + host + ": unexpected output " + r);
        }
        return seen;
    }

    /**
     * {@code <this JVM's java> -jar JAR ARGS}, for {@link #start} or {@link #exec}, e.g. the
     * natpunch CLI (failsafe passes its path as system property {@code natpunch.cli.jar}).
     */
    public static String[] javaJar(Path jar, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar.toString()));
        cmd.addAll(Arrays.asList(args));
        return cmd.toArray(String[]::new);
    }

    private static String[] javaCommand(Class<?> main, String... args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath;
        try {
            classpath = Path.of(main.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new LabException("cannot locate " + main, e);
        }
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-cp", classpath, main.getName()));
        cmd.addAll(Arrays.asList(args));
        return cmd.toArray(String[]::new);
    }

    // ---------------------------------------------------------------- WireGuard

    /** Starts wireguard-go on {@code host} with fresh keys from {@code wg genkey}. */
    public WgNode addWireGuard(Host host, int listenPort) {
        String privateKey = execOrThrow(host, null, "wg", "genkey").strip();
        return addWireGuard(host, listenPort, privateKey);
    }

    /** Starts wireguard-go on {@code host} with the private key of {@code keys}. */
    public WgNode addWireGuard(Host host, int listenPort, dev.natpunch.crypto.KeyPair keys) {
        return addWireGuard(host, listenPort, keys.privateKey().toBase64());
    }

    /**
     * Starts wireguard-go on {@code host} with {@code privateKeyBase64}, listening on
     * {@code listenPort}, with the next tunnel address from 100.127.0.0/24, and brings it up.
     */
    public WgNode addWireGuard(Host host, int listenPort, String privateKeyBase64) {
        String ifname;
        int tunnelOctet;
        synchronized (this) {
            checkOpen();
            if (nextWg >= 253) {
                throw new LabException("out of tunnel addresses");
            }
            tunnelOctet = nextWg + 1;
            ifname = PREFIX + id + "w" + nextWg++;
        }
        String publicKey = execOrThrow(host, privateKeyBase64 + "\n", "wg", "pubkey").strip();
        Path socket = WG_SOCKET_DIR.resolve(ifname + ".sock");
        synchronized (this) {
            teardown.push(() -> deleteQuietly(socket));
        }
        BackgroundProcess process = start(host, Map.of("WG_PROCESS_FOREGROUND", "1", "LOG_LEVEL", "error"),
                "wireguard-go", ifname);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!Files.exists(socket)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new LabException("wireguard-go " + ifname + " on " + host + " did not start: " + process.output());
            }
            BackgroundProcess.sleep(Duration.ofMillis(20));
        }
        execOrThrow(host, privateKeyBase64 + "\n",
                "wg", "set", ifname, "listen-port", Integer.toString(listenPort), "private-key", "/dev/stdin");
        InetAddress tunnel = parse("100.127.0." + tunnelOctet);
        ip("-n", host.namespace(), "addr", "add", tunnel.getHostAddress() + "/24", "dev", ifname);
        ip("-n", host.namespace(), "link", "set", ifname, "up");
        return new WgNode(this, host, ifname, listenPort, publicKey, tunnel, process);
    }

    String execOrThrow(Node node, String stdin, String... cmd) {
        ExecResult r = execIn(node.namespace(), DEFAULT_TIMEOUT, stdin, cmd);
        if (!r.ok()) {
            throw new LabException(String.join(" ", cmd) + " in " + node.namespace() + ": " + r);
        }
        return r.stdout();
    }

    // ---------------------------------------------------------------- teardown

    /**
     * Kills every process the lab started (with its process group), deletes its namespaces
     * (killing anything still inside), removes its UAPI sockets and work directory. Never
     * throws; safe to call twice.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (!teardown.isEmpty()) {
            try {
                teardown.pop().run();
            } catch (RuntimeException e) {
                System.err.println("lab " + id + " teardown: " + e);
            }
        }
        removeLeftovers(id);
        deleteTree(workDir);
        deleteQuietly(STATE_DIR.resolve(id + ".pid"));
        LIVE_IDS.remove(id);
    }

    /**
     * Removes namespaces (and the processes in them) and UAPI sockets of labs whose owning process
     * is gone. Labs of live processes, including other labs in this JVM, are left alone.
     */
    public static void cleanupStale() {
        Set<String> ids = new HashSet<>();
        Pattern nsPattern = Pattern.compile("^" + PREFIX + "-([0-9a-f]{4})-");
        for (String ns : listNamespaces()) {
            Matcher m = nsPattern.matcher(ns);
            if (m.find()) {
                ids.add(m.group(1));
            }
        }
        Pattern sockPattern = Pattern.compile("^" + PREFIX + "([0-9a-f]{4})w\\d+\\.sock$");
        if (Files.isDirectory(WG_SOCKET_DIR)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(WG_SOCKET_DIR)) {
                for (Path p : ds) {
                    Matcher m = sockPattern.matcher(p.getFileName().toString());
                    if (m.matches()) {
                        ids.add(m.group(1));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        for (String staleId : ids) {
            if (!isOwnerAlive(staleId)) {
                removeLeftovers(staleId);
                deleteQuietly(STATE_DIR.resolve(staleId + ".pid"));
            }
        }
    }

    /** Namespaces whose name starts with {@code npl-ID-}, for this lab's ID. */
    public List<String> namespaces() {
        return listNamespaces().stream().filter(n -> n.startsWith(PREFIX + "-" + id + "-")).toList();
    }

    private static boolean isOwnerAlive(String labId) {
        if (LIVE_IDS.contains(labId)) {
            return true;
        }
        try {
            long pid = Long.parseLong(Files.readString(STATE_DIR.resolve(labId + ".pid")).strip());
            return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    private static void removeLeftovers(String labId) {
        for (String ns : listNamespaces()) {
            if (!ns.startsWith(PREFIX + "-" + labId + "-")) {
                continue;
            }
            ExecResult pids = execRoot(Duration.ofSeconds(10), null, "ip", "netns", "pids", ns);
            for (String pid : pids.stdout().split("\\s+")) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            execRoot(Duration.ofSeconds(10), null, "ip", "netns", "del", ns);
        }
        if (Files.isDirectory(WG_SOCKET_DIR)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(WG_SOCKET_DIR, PREFIX + labId + "w*.sock")) {
                for (Path p : ds) {
                    deleteQuietly(p);
                }
            } catch (IOException e) {
                System.err.println("lab " + labId + ": cannot list " + WG_SOCKET_DIR + ": " + e);
            }
        }
    }

    static List<String> listNamespaces() {
        ExecResult r = execRoot(Duration.ofSeconds(10), null, "ip", "netns", "list");
        List<String> names = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            if (!line.isBlank()) {
                names.add(line.strip().split("\\s+")[0]);
            }
        }
        return names;
    }

    private void registerOwner() {
        try {
            Files.createDirectories(STATE_DIR);
            Files.writeString(STATE_DIR.resolve(id + ".pid"), Long.toString(ProcessHandle.current().pid()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private void addNamespace(String ns) {
        checkOpen();
        teardown.push(() -> {
            ExecResult pids = execRoot(Duration.ofSeconds(10), null, "ip", "netns", "pids", ns);
            for (String pid : pids.stdout().split("\\s+")) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            execRoot(Duration.ofSeconds(10), null, "ip", "netns", "del", ns);
        });
        ip("netns", "add", ns);
        // Duplicate address detection would keep new IPv6 addresses (link-local ones too)
        // unusable for a second or two; no address in a lab is ever duplicated.
        run(ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0");
        ip("-n", ns, "link", "set", "lo", "up");
    }

    private String claimName(String name) {
        checkOpen();
        if (!name.matches("[a-z0-9]{1,10}")) {
            throw new IllegalArgumentException("node names are 1-10 lowercase letters or digits: " + name);
        }
        if (nodes.containsKey(name) || name.equals("inet")) {
            throw new IllegalArgumentException("duplicate node name " + name);
        }
        return namespaceName(name);
    }

    private String namespaceName(String name) {
        return PREFIX + "-" + id + "-" + name;
    }

    private int nextPublicOctet() {
        if (nextPublicOctet > 254) {
            throw new LabException("out of public addresses");
        }
        return nextPublicOctet++;
    }

    private static InetAddress publicAddress4(int octet) {
        return parse("198.18.0." + octet);
    }

    /** fd18:ID::X for 198.18.0.X (X written in decimal digits, so the two read alike). */
    private InetAddress publicAddress6(int octet) {
        return parse("fd18:" + id + "::" + octet);
    }

    /** "fd64:ID:N::", the LAN prefix of router N, ready for a host part. */
    private String lanPrefix6(int lan) {
        return "fd64:" + id + ":" + lan + "::";
    }

    private void ip(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        ExecResult r = execRoot(DEFAULT_TIMEOUT, null, cmd);
        if (!r.ok()) {
            throw new LabException(String.join(" ", cmd) + ": " + r);
        }
    }

    private void run(String ns, String... cmd) {
        runWithInput(ns, null, cmd);
    }

    private void runWithInput(String ns, String stdin, String... cmd) {
        ExecResult r = execIn(ns, DEFAULT_TIMEOUT, stdin, cmd);
        if (!r.ok()) {
            throw new LabException(String.join(" ", cmd) + " in " + ns + ": " + r + (stdin == null ? "" : "\ninput:\n" + stdin));
        }
    }

    private ExecResult execIn(String ns, Duration timeout, String stdin, String... cmd) {
        checkOpen();
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        argv.addAll(Arrays.asList(cmd));
        return execRoot(timeout, stdin, argv.toArray(String[]::new));
    }

    /** Runs a command in the root namespace: only ip netns management and reading. */
    static ExecResult execRoot(Duration timeout, String stdin, String... cmd) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw new LabException("cannot run " + String.join(" ", cmd), e);
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // the command may exit without reading its input; its exit code tells the story
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new LabException("timed out after " + timeout + ": " + String.join(" ", cmd));
            }
            return new ExecResult(p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new LabException("interrupted: " + String.join(" ", cmd), e);
        }
    }

    private static CompletableFuture<String> drain(InputStream s) {
        return CompletableFuture.supplyAsync(() -> {
            try (s) {
                return new String(s.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("lab " + id + " is closed");
        }
    }

    static InetAddress parse(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    /** {@code ip:port} or {@code [ip6]:port}, as {@code wg} writes and reads endpoints. */
    public static String formatEndpoint(InetSocketAddress endpoint) {
        String host = endpoint.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + endpoint.getPort();
    }

    /** Reads {@code ip:port} or {@code [ip6]:port} (brackets optional for IPv6). */
    static InetSocketAddress parseEndpoint(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("not ip:port: " + hostPort);
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(parse(host), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static boolean isRoot() {
        try {
            ExecResult r = execRoot(Duration.ofSeconds(5), null, "id", "-u");
            return r.ok() && r.stdout().strip().equals("0");
        } catch (LabException e) {
            return false;
        }
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("cannot delete " + p + ": " + e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(Lab::deleteQuietly);
        } catch (IOException e) {
            System.err.println("cannot delete " + dir + ": " + e);
        }
    }
}
