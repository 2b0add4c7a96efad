package dev.natpunch.it.lab;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A wireguard-go interface on a lab host, driven with {@code wg(8)} through its UAPI socket.
 * The interface has the tunnel address {@link #tunnelAddress()}/24 (inside 100.127.0.0/24).
 */
public final class WgNode {
    private final Lab lab;
    private final Host host;
    private final String interfaceName;
    private final int listenPort;
    private final String publicKey;
    private final InetAddress tunnelAddress;
    private final BackgroundProcess process;

    WgNode(Lab lab, Host host, String interfaceName, int listenPort, String publicKey,
            InetAddress tunnelAddress, BackgroundProcess process) {
        this.lab = lab;
        this.host = host;
        this.interfaceName = interfaceName;
        this.listenPort = listenPort;
        this.publicKey = publicKey;
        this.tunnelAddress = tunnelAddress;
        this.process = process;
    }

    public Host host() {
        return host;
    }

    /** Globally unique (nplIDwK), as the UAPI socket requires. */
    public String interfaceName() {
        return interfaceName;
    }

    public int listenPort() {
        return listenPort;
    }

    /** Base64, as {@code wg} prints it. */
    public String publicKey() {
        return publicKey;
    }

    public InetAddress tunnelAddress() {
        return tunnelAddress;
    }

    /** The wireguard-go process; the lab kills it at close. */
    public BackgroundProcess process() {
        return process;
    }

    /** The host's own address ({@link Host#address()}: IPv4 if it has one) and the listen port. */
    public InetSocketAddress localEndpoint() {
        return new InetSocketAddress(host.address(), listenPort);
    }

    /**
     * The host's IPv6 address and the listen port, empty without IPv6: the same from everywhere,
     * since IPv6 is never translated, but reachable through a firewalled LAN only by peers this
     * interface has sent to.
     */
    public Optional<InetSocketAddress> endpoint6() {
        return host.address6().map(a -> new InetSocketAddress(a, listenPort));
    }

    /**
     * Where the internet can reach this interface without any discovery: the host itself when it
     * is public, the router's public address with the listen port behind a port-preserving NAT,
     * its IPv6 endpoint on an IPv6-only host.
     *
     * @throws IllegalStateException behind any other NAT kind, whose public port is not known
     *     in advance
     */
    public InetSocketAddress predictedPublicEndpoint() {
        Optional<Router> router = host.router();
        if (router.isEmpty() || host.address4().isEmpty()) {
            return localEndpoint();
        }
        if (router.get().natKind() != NatKind.EIM_PORT_PRESERVING) {
            throw new IllegalStateException("no predictable public endpoint behind " + router.get());
        }
        return new InetSocketAddress(router.get().publicAddress(), listenPort);
    }

    /**
     * Adds {@code other} as a peer allowed to use its tunnel address /32, with
     * {@link #predictedPublicEndpoint()} of the other as endpoint if {@code withEndpoint}.
     *
     * @param keepaliveSeconds persistent keepalive, 0 for none
     */
    public void addPeer(WgNode other, boolean withEndpoint, int keepaliveSeconds) {
        addPeer(other, withEndpoint ? other.predictedPublicEndpoint() : null, keepaliveSeconds);
    }

    /** Adds {@code other} as a peer with an explicit endpoint, or none if {@code endpoint} is null. */
    public void addPeer(WgNode other, InetSocketAddress endpoint, int keepaliveSeconds) {
        List<String> cmd = new ArrayList<>(List.of("wg", "set", interfaceName, "peer", other.publicKey,
                "allowed-ips", other.tunnelAddress.getHostAddress() + "/32"));
        if (endpoint != null) {
            cmd.add("endpoint");
            cmd.add(Lab.formatEndpoint(endpoint));
        }
        cmd.add("persistent-keepalive");
        cmd.add(keepaliveSeconds == 0 ? "off" : Integer.toString(keepaliveSeconds));
        lab.execOrThrow(host, null, cmd.toArray(String[]::new));
    }

    /** Removes {@code peer} from this interface, with its endpoint and session. */
    public void removePeer(WgNode peer) {
        lab.execOrThrow(host, null, "wg", "set", interfaceName, "peer", peer.publicKey, "remove");
    }

    /** Sets the endpoint of an existing peer, as a hole-punching client would. */
    public void setEndpoint(WgNode peer, InetSocketAddress endpoint) {
        lab.execOrThrow(host, null, "wg", "set", interfaceName, "peer", peer.publicKey,
                "endpoint", Lab.formatEndpoint(endpoint));
    }

    /**
     * Sets every peer's endpoint again to what it is, which makes wireguard-go forget the source
     * address it remembered for the peer. After {@link Lab#moveHost} that address no longer
     * exists, and wireguard-go 0.0.20220316 then fails every send to the peer with "network is
     * unreachable" until the endpoint is set anew (the kernel's WireGuard checks the address and
     * drops it by itself). Whoever manages a roaming host's peers has to do this; the lab does not
     * do it in {@code moveHost}, so that tests see what the network does.
     */
    public void resetSourceAddresses() {
        for (String line : show("endpoints").split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && !f[1].equals("(none)")) {
                lab.execOrThrow(host, null, "wg", "set", interfaceName, "peer", f[0], "endpoint", f[1]);
            }
        }
    }

    /** The time of the latest completed handshake with {@code peer}, empty if none yet. */
    public Optional<Instant> latestHandshake(WgNode peer) {
        for (String line : show("latest-handshakes").split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && f[0].equals(peer.publicKey)) {
                long epoch = Long.parseLong(f[1]);
                return epoch == 0 ? Optional.empty() : Optional.of(Instant.ofEpochSecond(epoch));
            }
        }
        return Optional.empty();
    }

    /** Every peer's public key (base64) and its endpoint, for the peers that have one. */
    public java.util.Map<String, InetSocketAddress> endpoints() {
        java.util.Map<String, InetSocketAddress> all = new java.util.LinkedHashMap<>();
        for (String line : show("endpoints").split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && !f[1].equals("(none)")) {
                all.put(f[0], Lab.parseEndpoint(f[1]));
            }
        }
        return all;
    }

    /**
     * Every peer's public key (base64) and the time of its latest handshake, for the peers that had
     * one. Read straight from wireguard-go's UAPI socket (a file in the root namespace's
     * /var/run/wireguard, so no {@code ip netns exec wg} process per call): about a millisecond,
     * which keeps the time-to-mesh polls of many interfaces short.
     */
    public java.util.Map<String, Instant> latestHandshakes() {
        java.util.Map<String, Instant> all = new java.util.LinkedHashMap<>();
        try {
            dev.natpunch.wireguard.Device d = dev.natpunch.wireguard.WireguardControl.uapi().device(interfaceName);
            d.privateKey().ifPresent(dev.natpunch.crypto.Key::destroy);
            for (dev.natpunch.wireguard.Peer p : d.peers()) {
                p.latestHandshake().ifPresent(t -> all.put(p.publicKey().toBase64(), t));
            }
        } catch (dev.natpunch.wireguard.WireguardException e) {
            throw new LabException("cannot read " + this + " through UAPI: " + e.getMessage(), e);
        }
        return all;
    }

    /** The endpoint currently set for {@code peer} (learnt by roaming or set), empty if none. */
    public Optional<InetSocketAddress> endpoint(WgNode peer) {
        for (String line : show("endpoints").split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && f[0].equals(peer.publicKey) && !f[1].equals("(none)")) {
                return Optional.of(Lab.parseEndpoint(f[1]));
            }
        }
        return Optional.empty();
    }

    /** Waits until a handshake with {@code peer} has completed; false if {@code timeout} passed. */
    public boolean waitForHandshake(WgNode peer, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (latestHandshake(peer).isPresent()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            BackgroundProcess.sleep(Duration.ofMillis(200));
        }
    }

    /** True if at least one of three pings (1 s apart, 2 s deadline each) to {@code address} is answered. */
    public boolean ping(InetAddress address) {
        ExecResult r = lab.exec(host, Duration.ofSeconds(20),
                "ping", "-n", "-q", "-c", "3", "-i", "1", "-W", "2", address.getHostAddress());
        return r.ok();
    }

    /** {@code wg show IFNAME [field]} output. */
    public String show(String... field) {
        List<String> cmd = new ArrayList<>(List.of("wg", "show", interfaceName));
        cmd.addAll(List.of(field));
        return lab.execOrThrow(host, null, cmd.toArray(String[]::new));
    }

    @Override
    public String toString() {
        return interfaceName + "@" + host.name() + "(" + tunnelAddress.getHostAddress() + ", :" + listenPort + ")";
    }
}
