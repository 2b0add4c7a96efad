package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.Host;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import dev.natpunch.it.lab.Router;
import dev.natpunch.it.lab.WgNode;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The set-up every end-to-end test shares: a lab with a natpunch server on a public host and
 * WireGuard peers that know each other's keys and tunnel addresses but have no endpoints. Server
 * and clients run as {@code java -jar natpunch.jar ...} inside the lab's namespaces, exactly as a
 * user starts them (the jar's path comes from failsafe as {@code natpunch.cli.jar}).
 */
final class MeshScenario implements AutoCloseable {
    static final int SERVER_PORT = 3478;
    static final int WG_PORT = 51820;
    /** Long enough for a loaded CI machine to start a JVM and wait out --verify; bounded all the same. */
    static final Duration CLIENT_RUN = Duration.ofSeconds(90);
    static final Duration STARTUP = Duration.ofSeconds(60);
    private static final int ECHO_PORT = 7000;

    /** A WireGuard peer of the scenario; {@code mapping} is its public address:port as measured before WireGuard bound the port. */
    record Peer(WgNode wg, Optional<Router> router, InetSocketAddress mapping) {
        String key() {
            return wg.publicKey();
        }
    }

    private final Lab lab;
    private final Path jar;
    private final Host serverHost;
    private final KeyPair serverKeys = KeyPair.generate();
    private final List<BackgroundProcess> clients = new ArrayList<>();
    private final List<BackgroundProcess> servers = new ArrayList<>();
    private final List<Peer> peers = new ArrayList<>();
    private BackgroundProcess server;
    private BackgroundProcess echo;

    private MeshScenario(Lab lab, Path jar) {
        this.lab = lab;
        this.jar = jar;
        this.serverHost = lab.addPublicHost("srv");
    }

    /** A lab with the server's host; skipped (like every lab test) without root or the tools. */
    static MeshScenario create() {
        Path jar = Path.of(System.getProperty("natpunch.cli.jar", "../natpunch-cli/target/natpunch.jar"));
        assertTrue(Files.isRegularFile(jar), "no CLI jar at " + jar.toAbsolutePath()
                + ": build natpunch-cli first (mvn -pl natpunch-cli -am package)");
        Lab lab = Lab.create();
        try {
            return new MeshScenario(lab, jar);
        } catch (RuntimeException | Error e) {
            lab.close();
            throw e;
        }
    }

    Lab lab() {
        return lab;
    }

    /** The CLI jar the scenario runs. */
    Path jar() {
        return jar;
    }

    // ---------------------------------------------------------------- server

    /**
     * Starts {@code natpunch server PORT PRIVATE_KEY} on the server host, always with this
     * scenario's key, and waits until it listens (it prints its key only once the socket is bound).
     */
    BackgroundProcess startServer() {
        BackgroundProcess p = lab.start(serverHost, Lab.javaJar(jar, "server", Integer.toString(SERVER_PORT),
                serverKeys.privateKey().toBase64()));
        servers.add(p);
        Optional<BackgroundProcess.MatchResultLine> key = p.awaitLine(Pattern.compile("^Public key: (\\S+)"), STARTUP);
        assertTrue(key.isPresent(), () -> "server printed no public key:\n" + p.output());
        assertEquals(serverKeys.publicKey().toBase64(), key.get().group(1), "the key derived from the private key given");
        server = p;
        return p;
    }

    /** Stops the running server (SIGTERM, then SIGKILL) and waits until it is gone. */
    void stopServer() {
        server.close();
        assertTrue(server.awaitExit(Duration.ofSeconds(10)).isPresent(), "server still running");
    }

    /** Kills the running server with SIGKILL, as a crash or an OOM kill would, and waits until it is gone. */
    void killServer() {
        server.kill();
    }

    /**
     * A server that crashed or was stopped comes back: same key, same port, an empty table.
     * Waits until it listens.
     */
    BackgroundProcess restartServer() {
        assertTrue(!server.isAlive(), "the server is still running: stop or kill it first");
        return startServer();
    }

    /** Freezes the server (SIGSTOP): it stays bound but answers nothing until {@link #resumeServer()}. */
    void pauseServer() {
        server.pause();
    }

    /** Lets a paused server run again; it then works through what queued up in its socket. */
    void resumeServer() {
        server.resume();
    }

    /** The server process started last. */
    BackgroundProcess server() {
        return server;
    }

    /** The public host the server runs on. */
    Host serverHost() {
        return serverHost;
    }

    String serverEndpoint() {
        return serverHost.address().getHostAddress() + ":" + SERVER_PORT;
    }

    String serverPublicKey() {
        return serverKeys.publicKey().toBase64();
    }

    /**
     * Matches the server's lookup log line {@code <from> ==> <to>: RESULT}; natpunch-go's format
     * shows the first 12 key bytes, i.e. the first 16 base64 characters.
     */
    static Pattern lookupLine(Peer from, Peer to, String result) {
        return Pattern.compile(Pattern.quote(from.key().substring(0, 16)) + " ==> "
                + Pattern.quote(to.key().substring(0, 16)) + ": " + result + "$");
    }

    // ---------------------------------------------------------------- peers

    /**
     * A WireGuard peer on a LAN behind a new router of {@code kind}. For endpoint-independent
     * kinds the NAT's mapping of the listen port is measured first, from the same host and port,
     * with a UDP echo on the server host; a symmetric NAT has no single mapping, so there it is
     * null.
     */
    Peer behindNat(String name, NatKind kind) {
        Router router = lab.addRouter("r" + name, kind);
        Host host = lab.addHost(router, name);
        InetSocketAddress mapping = null;
        if (kind != NatKind.SYMMETRIC) {
            if (echo == null) {
                echo = lab.startUdpEcho(serverHost, ECHO_PORT);
            }
            mapping = lab.udpProbe(host, WG_PORT, new InetSocketAddress(serverHost.address(), ECHO_PORT)).get(0);
            // WireGuard's flows should start from an empty table, as on a freshly booted router
            lab.flushConntrack(router);
        }
        Peer peer = new Peer(lab.addWireGuard(host, WG_PORT), Optional.of(router), mapping);
        peers.add(peer);
        return peer;
    }

    /** A WireGuard peer on a public host: its mapping is its own address. */
    Peer onPublicHost(String name) {
        Host host = lab.addPublicHost(name);
        Peer peer = new Peer(lab.addWireGuard(host, WG_PORT), Optional.empty(), new InetSocketAddress(host.address(), WG_PORT));
        peers.add(peer);
        return peer;
    }

    /** Makes every pair of {@code members} peers (allowed-ips its tunnel /32), with no endpoint and no keepalive. */
    static void mesh(Peer... members) {
        for (Peer a : members) {
            for (Peer b : members) {
                if (a != b) {
                    a.wg().addPeer(b.wg(), (InetSocketAddress) null, 0);
                }
            }
        }
    }

    /**
     * {@code n} peers named p0, p1, ..., each behind its own new NAT, port-preserving and
     * port-changing alternately (no symmetric NAT: every pair can connect directly).
     */
    List<Peer> peersBehindNats(int n) {
        List<Peer> made = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            made.add(behindNat("p" + i, i % 2 == 0 ? NatKind.EIM_PORT_PRESERVING : NatKind.EIM_PORT_CHANGING));
        }
        return made;
    }

    /**
     * From now on, counts the datagrams each peer's site sends to the server port (an nftables
     * counter per source address in the server's namespace, before any natpunch code sees them):
     * a client's requests, retransmissions included, whatever protocol version it speaks. Every
     * peer must be behind its own router or on its own public host, so that the address tells
     * them apart.
     */
    void countRequests() {
        StringBuilder rules = new StringBuilder("table inet npl_count {\n chain in {"
                + " type filter hook input priority -200; policy accept;\n");
        for (Peer p : peers) {
            for (java.net.InetAddress source : sources(p)) {
                rules.append("  ").append(source instanceof java.net.Inet6Address ? "ip6" : "ip").append(" saddr ")
                        .append(source.getHostAddress()).append(" udp dport ").append(SERVER_PORT).append(" counter\n");
            }
        }
        rules.append(" }\n}\n");
        dev.natpunch.it.lab.ExecResult r = lab.execWithInput(serverHost, Duration.ofSeconds(30), rules.toString(), "nft", "-f", "-");
        assertTrue(r.ok(), () -> "nft: " + r + "\n" + rules);
    }

    /** The datagrams from {@code peer}'s site to the server since {@link #countRequests()}. */
    long requestsFrom(Peer peer) {
        String chain = lab.exec(serverHost, "nft", "list", "chain", "inet", "npl_count", "in").stdout();
        long total = 0;
        for (java.net.InetAddress source : sources(peer)) {
            Matcher m = Pattern.compile("saddr " + Pattern.quote(source.getHostAddress())
                    + " udp dport " + SERVER_PORT + " counter packets (\\d+)").matcher(chain);
            assertTrue(m.find(), () -> "no counter for " + source + " (countRequests() first):\n" + chain);
            total += Long.parseLong(m.group(1));
        }
        return total;
    }

    /** The addresses the server sees a peer's datagrams come from: its NAT's, or its own. */
    private static List<java.net.InetAddress> sources(Peer p) {
        List<java.net.InetAddress> sources = new ArrayList<>();
        Host host = p.wg().host();
        if (p.router().isPresent()) {
            Router r = p.router().get();
            if (host.address4().isPresent()) {
                sources.add(r.publicAddress());
            }
        } else {
            host.address4().ifPresent(sources::add);
        }
        host.address6().ifPresent(sources::add);
        return sources;
    }

    /**
     * Waits until every peer's WireGuard reports a handshake with every other and returns how
     * long that took from {@code since}.
     */
    Duration awaitFullMesh(java.time.Instant since, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> missing = new ArrayList<>();
            for (Peer p : peers) {
                java.util.Map<String, java.time.Instant> handshakes = p.wg().latestHandshakes();
                for (Peer q : peers) {
                    if (q != p && !handshakes.containsKey(q.key())) {
                        missing.add(p.wg().interfaceName() + " -> " + q.wg().interfaceName());
                    }
                }
            }
            if (missing.isEmpty()) {
                return Duration.between(since, java.time.Instant.now());
            }
            assertTrue(System.nanoTime() < deadline, () -> missing.size() + " directions without a handshake after "
                    + timeout + ": " + missing + "\n" + diagnostics());
            MeshWatch.sleep(Duration.ofMillis(200));
        }
    }

    /** Every peer added so far, in order. */
    List<Peer> peers() {
        return List.copyOf(peers);
    }

    /**
     * As if {@code at}'s configuration were reloaded: {@code other} is removed, with its endpoint
     * and session, and added back with its key and allowed IPs only, so a client has to find it
     * again.
     */
    static void reloadPeer(Peer at, Peer other) {
        at.wg().removePeer(other.wg());
        at.wg().addPeer(other.wg(), (InetSocketAddress) null, 0);
    }

    // ---------------------------------------------------------------- clients

    /** Starts {@code natpunch client OPTIONS IFACE SERVER:PORT SERVER_KEY} in the peer's namespace. */
    BackgroundProcess startClient(Peer peer, String... options) {
        List<String> args = new ArrayList<>(List.of("client"));
        args.addAll(Arrays.asList(options));
        args.addAll(List.of(peer.wg().interfaceName(), serverEndpoint(), serverPublicKey()));
        BackgroundProcess p = lab.start(peer.wg().host(), Lab.javaJar(jar, args.toArray(String[]::new)));
        clients.add(p);
        return p;
    }

    /** The exit status of a client, which must end within {@link #CLIENT_RUN}. */
    int exitStatus(BackgroundProcess client) {
        OptionalInt rc = client.awaitExit(CLIENT_RUN);
        assertTrue(rc.isPresent(), () -> client + " still running after " + CLIENT_RUN + "\n" + diagnostics());
        return rc.getAsInt();
    }

    /** Pattern of the client's line for {@code peer} in state {@code words} (regex), e.g. "connected". */
    static Pattern peerLine(Peer peer, String words) {
        return Pattern.compile("^peer " + Pattern.quote(peer.key()) + ": " + words);
    }

    /** Pattern of the client's whole line for {@code peer} in state {@code words} (regex) with {@code endpoint}. */
    static Pattern peerLine(Peer peer, String words, InetSocketAddress endpoint) {
        return peerLine(peer, words + " " + Pattern.quote(hostPort(endpoint)) + "$");
    }

    /** ip:port, as the CLI prints it. */
    static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** Waits for both handshakes, then pings each way through the tunnel. */
    void assertTunnel(Peer a, Peer b) {
        assertTrue(a.wg().waitForHandshake(b.wg(), STARTUP), () -> "no handshake " + a.wg() + " -> " + b.wg() + "\n" + diagnostics());
        assertTrue(b.wg().waitForHandshake(a.wg(), STARTUP), () -> "no handshake " + b.wg() + " -> " + a.wg() + "\n" + diagnostics());
        assertTrue(a.wg().ping(b.wg().tunnelAddress()), () -> a.wg() + " cannot ping " + b.wg() + "\n" + diagnostics());
        assertTrue(b.wg().ping(a.wg().tunnelAddress()), () -> b.wg() + " cannot ping " + a.wg() + "\n" + diagnostics());
    }

    /**
     * Starts another {@code natpunch server PORT PRIVATE_KEY EXTRA...} on {@code host} with
     * {@code keys} and waits until it listens; it is stopped with the lab.
     */
    BackgroundProcess startServerOn(Host host, KeyPair keys, String... extra) {
        List<String> args = new ArrayList<>(List.of("server"));
        args.addAll(Arrays.asList(extra));
        args.addAll(List.of(Integer.toString(SERVER_PORT), keys.privateKey().toBase64()));
        BackgroundProcess p = lab.start(host, Lab.javaJar(jar, args.toArray(String[]::new)));
        servers.add(p);
        assertTrue(p.awaitLine(Pattern.compile("^Public key: (\\S+)"), STARTUP).isPresent(),
                () -> "server printed no public key:\n" + p.output());
        return p;
    }

    /** Starts {@code natpunch client ARGS...} in the peer's namespace, the arguments as given. */
    BackgroundProcess startClientWith(Peer peer, String... args) {
        List<String> all = new ArrayList<>(List.of("client"));
        all.addAll(Arrays.asList(args));
        BackgroundProcess p = lab.start(peer.wg().host(), Lab.javaJar(jar, all.toArray(String[]::new)));
        clients.add(p);
        return p;
    }

    /** A WireGuard peer on a new LAN behind {@code router}, with no measured mapping. */
    Peer behind(Router router, String name) {
        Host host = lab.addHost(router, name);
        Peer peer = new Peer(lab.addWireGuard(host, WG_PORT), Optional.of(router), null);
        peers.add(peer);
        return peer;
    }

    /** Every process's output and every interface's state, for failure messages. */
    String diagnostics() {
        StringBuilder sb = new StringBuilder();
        for (BackgroundProcess s : servers) {
            sb.append("---- ").append(s).append('\n').append(s.output());
        }
        for (BackgroundProcess c : clients) {
            sb.append("---- ").append(c).append('\n').append(c.output());
        }
        for (Peer p : peers) {
            try {
                sb.append("---- wg show ").append(p.wg()).append('\n').append(p.wg().show());
            } catch (RuntimeException e) {
                sb.append("---- wg show ").append(p.wg()).append(": ").append(e).append('\n');
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        lab.close();
    }
}
