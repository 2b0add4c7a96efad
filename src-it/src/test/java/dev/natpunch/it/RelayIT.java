package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.ExecResult;
import dev.natpunch.it.lab.Host;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import dev.natpunch.relay.Relay;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The relay is transparent to WireGuard: two wireguard-go peers behind symmetric NATs, which
 * cannot reach each other directly (see {@link HolePunchIT}), point their endpoints at their relay
 * ports on a public host and get a tunnel, both ways, with real NATs in between; a third host
 * replaying their binds from elsewhere neither binds nor gets anything forwarded.
 */
class RelayIT {
    private static final int FIRST_PORT = 40000;
    private static final int LAST_PORT = 40099;

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /** {@code java -cp <what the relay classes need> RelayHarness ARGS}. */
    static String[] harness(String... args) {
        Set<String> path = new LinkedHashSet<>();
        for (String className : List.of(RelayHarness.class.getName(), Relay.class.getName(), "org.slf4j.LoggerFactory",
                "org.slf4j.simple.SimpleLogger", "com.sun.jna.Native")) {
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

    /** The relay's two sides as it printed them: endpoint and token. */
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

    @Test
    void peersBehindSymmetricNatsGetATunnelThroughTheRelay() throws Exception {
        try (MeshScenario s = MeshScenario.create()) {
            Peer a = s.behindNat("a", NatKind.SYMMETRIC);
            Peer b = s.behindNat("b", NatKind.SYMMETRIC);
            MeshScenario.mesh(a, b);
            Host relayHost = s.lab().addPublicHost("relay");
            BackgroundProcess relay = startRelay(s.lab(), relayHost, a, b, 0);
            Side sa = side(relay, "a");
            Side sb = side(relay, "b");
            assertEquals(relayHost.address(), sa.endpoint().getAddress());

            bindAndPoint(s.lab(), a, b, sa);
            bindAndPoint(s.lab(), b, a, sb);
            try {
                s.assertTunnel(a, b);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n---- relay\n" + relay.output(), e);
            }
            // Each side's WireGuard still talks to its own relay port: the relay is where the
            // other's authenticated datagrams come from, so roaming has nowhere else to go.
            assertEquals(sa.endpoint(), a.wg().endpoint(b.wg()).orElseThrow());
            assertEquals(sb.endpoint(), b.wg().endpoint(a.wg()).orElseThrow());
            assertTrue(relay.awaitLine(Pattern.compile("^forwarded [1-9]"), MeshScenario.STARTUP).isPresent(), relay::output);
            assertTrue(relay.isAlive(), relay::output);

            // A third host that saw both binds on the path replays them from its own address, and
            // sends a WireGuard-shaped datagram to each port: none of it binds or is forwarded,
            // and the tunnel goes on through the same ports.
            Host mallory = s.lab().addPublicHost("mallory");
            for (Side side : List.of(sa, sb)) {
                ExecResult r = s.lab().exec(mallory, Duration.ofSeconds(60), harness("send",
                        side.endpoint().getAddress().getHostAddress() + ":" + side.endpoint().getPort(),
                        "06000000" + side.token(), "04000000" + "00".repeat(28)));
                assertTrue(r.ok(), r::toString);
            }
            assertTrue(relay.awaitLine(Pattern.compile("UNKNOWN_SOURCE=2, BIND_REJECTED=2,"), MeshScenario.STARTUP)
                    .isPresent(), relay::output);
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), relay::output);
            assertTrue(b.wg().ping(a.wg().tunnelAddress()), relay::output);
            assertEquals(sa.endpoint(), a.wg().endpoint(b.wg()).orElseThrow());
            assertEquals(sb.endpoint(), b.wg().endpoint(a.wg()).orElseThrow());
            assertTrue(relay.awaitLine(Pattern.compile("binds=2,"), Duration.ofSeconds(5)).isPresent(), relay::output);
        }
    }
}
