package dev.natpunch.it;

import static dev.natpunch.it.MeshScenario.peerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.ExecResult;
import dev.natpunch.it.lab.Host;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import dev.natpunch.relay.Relay;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The relay end to end (issue 8), in both placements: inside the rendezvous server
 * ({@code natpunch server --relay}) and on a host of its own ({@code natpunch relay}, which the
 * server drives with {@code --relay-server}). CLI clients in continuous mode behind real
 * symmetric NATs, wireguard-go peers.
 */
class RelayIT {
    /** Below the ephemeral ports, so that only relay sockets can be in it. */
    private static final int FIRST_PORT = 20000;
    private static final int LAST_PORT = 20099;
    private static final int CONTROL_PORT = 3479;
    /** Keepalives every 5 s; a relayed path silent for 15 s is bound again. */
    private static final String KEEPALIVE = "5";
    private static final String IDLE_SECONDS = "12";
    private static final Duration RELAYED_WITHIN = Duration.ofSeconds(90);

    enum Placement { IN_SERVER, OWN_HOST }

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /**
     * Two peers behind symmetric NATs end {@code relayed} and ping each other through the relay;
     * {@code natpunch status} names the relay port. A third party gets nothing: a client of the
     * same server asking to be relayed to either peer gets no grant, and an observer who saw both
     * binds on the relay's wire replays them from its own address and sends WireGuard-shaped data
     * to both ports: nothing binds, nothing comes back, the tunnel goes on through the same ports.
     * Then one peer's NAT forgets its mappings (a new public port toward the relay): its client
     * notices the silence and binds again with a fresh token. A relay on its own host is then
     * killed and started again: the server notices, reconnects, and the peers are relayed again.
     * Finally, with the peers gone, the relay closes the pair's ports after its idle timeout.
     */
    @ParameterizedTest
    @EnumSource(Placement.class)
    void symmetricPeersAreRelayedStrangersGetNothingAMovedPeerBindsAgainIdlePairsEnd(Placement placement) {
        try (MeshScenario s = MeshScenario.create()) {
            KeyPair serverKeys = KeyPair.generate();
            Host relayHost = placement == Placement.IN_SERVER ? s.serverHost() : s.lab().addPublicHost("relay");
            String relayIp = relayHost.address().getHostAddress();
            String range = FIRST_PORT + "-" + LAST_PORT;
            KeyPair relayKeys = KeyPair.generate();
            Path relayKey = keyFile(relayKeys);
            String[] relayCommand = Lab.javaJar(s.jar(), "relay", "--private-key-file", relayKey.toString(),
                    "--address", relayIp, "--ports", range, "--idle", IDLE_SECONDS,
                    "--allow-server", serverKeys.publicKey().toBase64(), Integer.toString(CONTROL_PORT));
            BackgroundProcess relay = null;
            BackgroundProcess serverProcess;
            if (placement == Placement.IN_SERVER) {
                serverProcess = s.startServerOn(s.serverHost(), serverKeys, "--relay=" + range, "--relay-address", relayIp,
                        "--relay-idle", IDLE_SECONDS);
            } else {
                relay = startRelay(s.lab(), relayHost, relayCommand);
                serverProcess = s.startServerOn(s.serverHost(), serverKeys, "--relay-server",
                        relayIp + ":" + CONTROL_PORT + "=" + relayKeys.publicKey().toBase64());
                assertTrue(serverProcess.awaitLine(CONNECTED_TO_RELAY, MeshScenario.STARTUP).isPresent(), serverProcess::output);
            }
            BackgroundProcess sniffer = s.lab().start(relayHost, harness("sniff", Integer.toString(FIRST_PORT),
                    Integer.toString(LAST_PORT)));
            assertTrue(sniffer.awaitLine(Pattern.compile("^sniffing"), MeshScenario.STARTUP).isPresent(), sniffer::output);

            String server = s.serverHost().address().getHostAddress() + ":" + MeshScenario.SERVER_PORT + "="
                    + serverKeys.publicKey().toBase64();
            Peer a = s.behindNat("a", NatKind.SYMMETRIC);
            Peer b = s.behindNat("b", NatKind.SYMMETRIC);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClientWith(a, "-c", "-d", "1", "--verify", "5", "-k", KEEPALIVE,
                    "--server", server, a.wg().interfaceName());
            BackgroundProcess cb = s.startClientWith(b, "-c", "-d", "1", "--verify", "5", "-k", KEEPALIVE,
                    "--server", server, b.wg().interfaceName());
            List<BackgroundProcess> relays = new ArrayList<>();
            if (relay != null) {
                relays.add(relay);
            }
            java.util.function.Supplier<String> diagnostics = () -> s.diagnostics() + relays.stream()
                    .map(r -> "---- relay\n" + r.output()).reduce("", String::concat) + "---- sniffer\n" + sniffer.output();

            assertTrue(ca.awaitLine(peerLine(b, "relayed "), RELAYED_WITHIN).isPresent(), diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "relayed "), RELAYED_WITHIN).isPresent(), diagnostics);
            s.assertTunnel(a, b);
            InetSocketAddress portA = a.wg().endpoint(b.wg()).orElseThrow();
            InetSocketAddress portB = b.wg().endpoint(a.wg()).orElseThrow();
            assertEquals(relayHost.address(), portA.getAddress(), "a sends to the relay");
            assertEquals(relayHost.address(), portB.getAddress(), "b sends to the relay");
            assertTrue(portA.getPort() >= FIRST_PORT && portA.getPort() <= LAST_PORT, portA::toString);
            System.out.println(placement + ": a -> b via " + portA + ", b -> a via " + portB);
            assertEquals(2, relayPorts(s.lab(), relayHost), "one allocation: two ports");

            ExecResult status = s.lab().exec(a.wg().host(), Duration.ofSeconds(60),
                    Lab.javaJar(s.jar(), "status", a.wg().interfaceName()));
            System.out.println(status.stdout());
            assertTrue(Pattern.compile("^peer " + Pattern.quote(b.key()) + ": relayed via "
                            + Pattern.quote(MeshScenario.hostPort(portA)) + ", endpoint " + Pattern.quote(MeshScenario.hostPort(portA))
                            + " \\(relay\\)", Pattern.MULTILINE).matcher(status.stdout()).find(), status::toString);

            Host mallory = s.lab().addPublicHost("mallory");
            ExecResult ask = s.lab().exec(mallory, Duration.ofSeconds(60), harness("ask",
                    s.serverHost().address().getHostAddress() + ":" + MeshScenario.SERVER_PORT,
                    serverKeys.publicKey().toBase64(), a.key(), b.key()));
            assertTrue(ask.ok() && ask.stdout().lines().filter(l -> l.endsWith(" none")).count() == 6, ask::toString);
            for (InetSocketAddress port : List.of(portA, portB)) {
                String token = boundToken(sniffer, port);
                ExecResult replay = s.lab().exec(mallory, Duration.ofSeconds(60), harness("send",
                        MeshScenario.hostPort(port), "06000000" + token, "04000000" + "00".repeat(28)));
                assertTrue(replay.ok(), replay::toString);
                assertEquals("received 0", replay.stdout().strip(), "nothing forwarded to the replayer from " + port);
            }
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), diagnostics);
            assertTrue(b.wg().ping(a.wg().tunnelAddress()), diagnostics);
            assertEquals(portA, a.wg().endpoint(b.wg()).orElseThrow());
            assertEquals(portB, b.wg().endpoint(a.wg()).orElseThrow());

            // a's NAT reboots: its datagrams reach the relay from a new port, which drops them.
            s.lab().flushConntrack(a.router().orElseThrow());
            assertTrue(ca.awaitLine(Pattern.compile("bound to the relay " + Pattern.quote(MeshScenario.hostPort(portA))
                    + " again"), RELAYED_WITHIN).isPresent(), diagnostics);
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), diagnostics);
            assertTrue(b.wg().ping(a.wg().tunnelAddress()), diagnostics);
            assertEquals(portA, a.wg().endpoint(b.wg()).orElseThrow(), "the same allocation, bound anew");

            if (placement == Placement.OWN_HOST) {
                // The relay dies with every allocation: the server says so, the clients find their
                // relayed path silent and ask, in vain until the relay is back; then they are
                // relayed again, through new allocations.
                relay.kill();
                assertTrue(serverProcess.awaitLine(Pattern.compile("Relay .* stopped answering"), MeshScenario.STARTUP).isPresent(),
                        diagnostics);
                relay = startRelay(s.lab(), relayHost, relayCommand);
                relays.add(relay);
                long connected = System.nanoTime() + MeshScenario.STARTUP.toNanos();
                while (serverProcess.countLines(CONNECTED_TO_RELAY) < 2) {
                    assertTrue(System.nanoTime() < connected, diagnostics);
                    MeshWatch.sleep(Duration.ofMillis(200));
                }
                long pinged = System.nanoTime() + RELAYED_WITHIN.toNanos();
                while (!a.wg().ping(b.wg().tunnelAddress())) {
                    assertTrue(System.nanoTime() < pinged, () -> "no tunnel through the restarted relay\n" + diagnostics.get());
                }
                assertTrue(b.wg().ping(a.wg().tunnelAddress()), diagnostics);
                assertEquals(relayHost.address(), a.wg().endpoint(b.wg()).orElseThrow().getAddress());
            }

            ca.close();
            cb.close();
            a.wg().removePeer(b.wg());
            b.wg().removePeer(a.wg());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (relayPorts(s.lab(), relayHost) > 0) {
                assertTrue(System.nanoTime() < deadline, "the idle allocation still holds its ports\n" + diagnostics.get());
                MeshWatch.sleep(Duration.ofMillis(500));
            }
            assertTrue(relay == null || relay.isAlive(), diagnostics);
        }
    }

    private static final Pattern CONNECTED_TO_RELAY = Pattern.compile("Connected to relay ");

    /** {@code natpunch relay ...} on {@code host}, once it listens. */
    private static BackgroundProcess startRelay(Lab lab, Host host, String[] command) {
        BackgroundProcess relay = lab.start(host, command);
        assertTrue(relay.awaitLine(Pattern.compile("^Public key: "), MeshScenario.STARTUP).isPresent(), relay::output);
        return relay;
    }

    /** A private key file only its owner can read, deleted when the JVM exits. */
    private static Path keyFile(KeyPair keys) {
        try {
            Path file = Files.createTempFile("relay", ".key");
            file.toFile().deleteOnExit();
            Files.writeString(file, keys.privateKey().toBase64() + "\n");
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** UDP sockets the relay holds in its port range on {@code host}: two per allocation. */
    static long relayPorts(Lab lab, Host host) {
        ExecResult ss = lab.exec(host, "ss", "-uanH");
        assertTrue(ss.ok(), ss::toString);
        Pattern local = Pattern.compile("^\\S+\\s+\\d+\\s+\\d+\\s+\\S+:(\\d+)\\s");
        return ss.stdout().lines().map(local::matcher).filter(Matcher::find)
                .mapToInt(m -> Integer.parseInt(m.group(1))).filter(p -> p >= FIRST_PORT && p <= LAST_PORT).count();
    }

    /** The token of the bind the sniffer saw arrive at {@code port}. */
    private static String boundToken(BackgroundProcess sniffer, InetSocketAddress port) {
        Pattern p = Pattern.compile("^bind \\S+ " + Pattern.quote(MeshScenario.hostPort(port)) + " ([0-9a-f]{32})$");
        var line = sniffer.awaitLine(p, Duration.ofSeconds(5));
        assertTrue(line.isPresent(), () -> "no bind to " + port + " seen:\n" + sniffer.output());
        return line.get().group(1);
    }

    // ---------------------------------------------------------------- the harness, for RelayThroughputIT too

    /** {@code java -cp <what the relay classes need> RelayHarness ARGS}. */
    static String[] harness(String... args) {
        Set<String> path = new LinkedHashSet<>();
        for (String className : List.of(RelayHarness.class.getName(), Relay.class.getName(), "org.slf4j.LoggerFactory",
                "org.slf4j.simple.SimpleLogger", "com.sun.jna.Native", "org.bouncycastle.math.ec.rfc7748.X25519")) {
            try {
                Class<?> c = Class.forName(className);
                path.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (ClassNotFoundException | URISyntaxException e) {
                throw new IllegalStateException("cannot locate " + className, e);
            }
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", String.join(":", path), RelayHarness.class.getName()));
        cmd.addAll(List.of(args));
        return cmd.toArray(String[]::new);
    }

    /** The relay's two sides as the harness printed them: endpoint and token. */
    record Side(InetSocketAddress endpoint, String token) {
    }

    static Side side(BackgroundProcess relay, String name) throws UnknownHostException {
        Pattern p = Pattern.compile("^" + name + " (\\S+):(\\d+) ([0-9a-f]{32})$");
        var line = relay.awaitLine(p, MeshScenario.STARTUP);
        assertTrue(line.isPresent(), () -> "relay printed no side " + name + ":\n" + relay.output());
        Matcher m = p.matcher(line.get().line());
        assertTrue(m.find());
        return new Side(new InetSocketAddress(InetAddress.getByName(m.group(1)), Integer.parseInt(m.group(2))), m.group(3));
    }

    static BackgroundProcess startRelay(Lab lab, Host host, Peer a, Peer b, long bytesPerSecond) {
        return lab.start(host, harness("serve", host.address().getHostAddress(), Integer.toString(FIRST_PORT),
                Integer.toString(LAST_PORT), a.key(), b.key(), Long.toString(bytesPerSecond)));
    }

    /**
     * The bind datagram from the peer's WireGuard port, through its NAT, then WireGuard's endpoint
     * and keepalive as the client sets them.
     */
    static void bindAndPoint(Lab lab, Peer from, Peer to, Side side) {
        ExecResult r = lab.exec(from.wg().host(), Duration.ofSeconds(60), harness("bind",
                side.endpoint().getAddress().getHostAddress() + ":" + side.endpoint().getPort(),
                Integer.toString(from.wg().listenPort()), side.token()));
        assertTrue(r.ok(), () -> "bind from " + from.wg() + " failed: " + r);
        from.wg().addPeer(to.wg(), side.endpoint(), 25);
    }
}
