package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.ExecResult;
import dev.natpunch.it.lab.Host;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement, not a test (it asserts only that tunnels come up): TCP throughput (iperf3) and
 * round-trip time (ping) through a WireGuard tunnel between two peers behind port-preserving
 * NATs, direct and through the relay, alternating in the same run. Runs only with
 * {@code -Dnatpunch.measure=true}; figures in docs/PERFORMANCE.md ("Relay").
 */
@EnabledIfSystemProperty(named = "natpunch.measure", matches = "true")
class RelayThroughputIT {
    private static final int ROUNDS = Integer.getInteger("natpunch.measure.rounds", 3);
    private static final int SECONDS = Integer.getInteger("natpunch.measure.seconds", 10);
    private static final Pattern RECEIVED = Pattern.compile(
            "\"sum_received\"\\s*:\\s*\\{[^}]*\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)");
    private static final Pattern RTT = Pattern.compile("= [0-9.]+/([0-9.]+)/[0-9.]+/([0-9.]+) ms");

    @Test
    void directVersusRelayed() throws Exception {
        Lab.assumeAvailable();
        try (MeshScenario s = MeshScenario.create()) {
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b);
            Host relayHost = s.lab().addPublicHost("relay");
            BackgroundProcess relay = RelayIT.startRelay(s.lab(), relayHost, a, b, 0);
            RelayIT.Side sa = RelayIT.side(relay, "a");
            RelayIT.Side sb = RelayIT.side(relay, "b");
            List<String> results = new ArrayList<>();
            for (int round = 1; round <= ROUNDS; round++) {
                a.wg().addPeer(b.wg(), b.wg().predictedPublicEndpoint(), 25);
                b.wg().addPeer(a.wg(), a.wg().predictedPublicEndpoint(), 25);
                s.assertTunnel(a, b);
                results.add("round " + round + " direct  " + measure(s.lab(), a, b));
                // Each round binds afresh: the relay hands out one token per side, so the
                // harness's tokens bind once; later rounds re-point WireGuard at the bound ports.
                if (round == 1) {
                    RelayIT.bindAndPoint(s.lab(), a, b, sa);
                    RelayIT.bindAndPoint(s.lab(), b, a, sb);
                } else {
                    a.wg().addPeer(b.wg(), sa.endpoint(), 25);
                    b.wg().addPeer(a.wg(), sb.endpoint(), 25);
                }
                s.assertTunnel(a, b);
                results.add("round " + round + " relayed " + measure(s.lab(), a, b));
            }
            results.forEach(r -> System.out.println("RESULT " + r));
            // Datagrams the kernel dropped at the relay's sockets (full buffers) never reach its counters.
            ExecResult snmp = s.lab().exec(relayHost, "cat", "/proc/net/snmp");
            snmp.stdout().lines().filter(l -> l.startsWith("Udp:")).forEach(l -> System.out.println("RESULT relay host " + l));
            String[] lines = relay.output().split("\n");
            for (int i = lines.length - 1; i >= 0; i--) {
                if (lines[i].startsWith("forwarded ")) {
                    System.out.println("RESULT relay " + lines[i]);
                    break;
                }
            }
            assertTrue(relay.isAlive(), relay::output);
        }
    }

    /** iperf3 a -> b for SECONDS, then 20 pings a -> b, through the tunnel. */
    private static String measure(Lab lab, Peer a, Peer b) {
        String server = b.wg().tunnelAddress().getHostAddress();
        BackgroundProcess iperf = lab.start(b.wg().host(), "iperf3", "-s", "-1", "--forceflush", "-B", server, "-p", "5201");
        assertTrue(iperf.awaitLine(Pattern.compile("Server listening"), Duration.ofSeconds(20)).isPresent(), iperf::output);
        ExecResult client = lab.exec(a.wg().host(), Duration.ofSeconds(SECONDS + 60),
                "iperf3", "-c", server, "-p", "5201", "-t", Integer.toString(SECONDS), "-J");
        Matcher bits = RECEIVED.matcher(client.stdout());
        assertTrue(client.ok() && bits.find(), client::toString);
        ExecResult ping = lab.exec(a.wg().host(), Duration.ofSeconds(30),
                "ping", "-n", "-q", "-c", "20", "-i", "0.2", server);
        Matcher rtt = RTT.matcher(ping.stdout());
        assertTrue(ping.ok() && rtt.find(), ping::toString);
        iperf.close();
        return String.format(Locale.ROOT, "%7.1f Mbit/s  rtt avg %s ms (mdev %s)",
                Double.parseDouble(bits.group(1)) / 1e6, rtt.group(1), rtt.group(2));
    }
}
