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
import dev.natpunch.it.lab.Router;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 5 end to end: NAT behaviour detection with the lab's real nftables NATs, peers behind one
 * NAT with and without hairpinning, and what {@code natpunch status} shows.
 */
class ConnectivityIT {
    private static final int PROBE_PORT = 3479;

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /** netcheck tells the endpoint-independent NATs from the symmetric one, and sees port changes. */
    @Test
    void netcheckTellsConeFromSymmetricNats() {
        try (MeshScenario s = MeshScenario.create()) {
            KeyPair keys = KeyPair.generate();
            s.startServerOn(s.serverHost(), keys, "--probe-port", Integer.toString(PROBE_PORT));
            String server = s.serverHost().address().getHostAddress() + ":" + MeshScenario.SERVER_PORT;
            String[][] expected = {
                {"EIM_PORT_PRESERVING", "port-independent", "true"},
                {"EIM_PORT_CHANGING", "port-independent", "false"},
                {"SYMMETRIC", "address-and-port-dependent", "false"},
            };
            for (int i = 0; i < expected.length; i++) {
                String[] e = expected[i];
                Router r = s.lab().addRouter("n" + i, NatKind.valueOf(e[0]));
                Host h = s.lab().addHost(r, "h" + i);
                ExecResult out = s.lab().exec(h, Duration.ofSeconds(60), Lab.javaJar(s.jar(), "netcheck", "--json",
                        "--port", "40123", server, keys.publicKey().toBase64()));
                System.out.println(e[0] + ": " + out.stdout().strip());
                assertEquals(0, out.exitCode(), out.toString());
                assertTrue(out.stdout().contains("\"mapping\":\"" + e[1] + "\""), e[0] + ": " + out);
                assertTrue(out.stdout().contains("\"portPreserved\":" + e[2]), e[0] + ": " + out);
                assertTrue(out.stdout().contains("\"filtering\":\"address-and-port-dependent\""), e[0] + ": " + out);
                assertTrue(out.stdout().contains("\"publicEndpoint\":\"" + r.publicAddress().getHostAddress() + ":"),
                        e[0] + ": " + out);
            }
        }
    }

    /**
     * Two peers behind one NAT that does not hairpin: their public endpoints cannot reach each
     * other, so the resolver uses their LAN candidates (same public address) and connects
     * directly on the LAN; status then shows the peer as direct on the LAN address.
     */
    @Test
    void peersBehindOneNatWithoutHairpinningConnectOverTheirLan() {
        sameNat(false);
    }

    /** The same behind a NAT that hairpins: the LAN candidate still comes first and works. */
    @Test
    void peersBehindOneHairpinningNatConnectOverTheirLan() {
        sameNat(true);
    }

    /**
     * A peer moves to another network (another NAT, another public address) while both clients
     * run: its client re-registers from the new mapping and the other side gets it by push, and
     * the tunnel comes back with a handshake on the new endpoint.
     */
    @Test
    void aPeerThatMovesToAnotherNatIsFollowed() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Router elsewhere = s.lab().addRouter("cafe", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-c", "-d", "1", "--verify", "10");
            BackgroundProcess cb = s.startClient(b, "-c", "-d", "1", "--verify", "10");
            s.assertTunnel(a, b);
            s.lab().moveHost(b.wg().host(), elsewhere);
            InetSocketAddress moved = new InetSocketAddress(elsewhere.publicAddress(), MeshScenario.WG_PORT);
            assertTrue(ca.awaitLine(peerLine(b, "(connected|already connected)", moved), Duration.ofSeconds(90)).isPresent(),
                    s::diagnostics);
            assertEquals(moved, a.wg().endpoint(b.wg()).orElseThrow());
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), s::diagnostics);
            assertTrue(b.wg().ping(a.wg().tunnelAddress()), s::diagnostics);
            assertTrue(cb.isAlive(), s::diagnostics);
        }
    }

    private static void sameNat(boolean hairpin) {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Router r = s.lab().addRouter("home", NatKind.EIM_PORT_CHANGING, hairpin);
            Peer a = s.behind(r, "a");
            Peer b = s.behind(r, "b");
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-c", "-d", "1", "--verify", "10");
            BackgroundProcess cb = s.startClient(b, "-c", "-d", "1", "--verify", "10");
            InetSocketAddress aLan = new InetSocketAddress(a.wg().host().address(), MeshScenario.WG_PORT);
            InetSocketAddress bLan = new InetSocketAddress(b.wg().host().address(), MeshScenario.WG_PORT);
            // The side whose peer reached it first over the LAN finds the tunnel working already
            // (WireGuard roamed to the LAN address) and leaves it alone.
            assertTrue(ca.awaitLine(peerLine(b, "(connected|already connected)", bLan), MeshScenario.STARTUP).isPresent(),
                    s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "(connected|already connected)", aLan), MeshScenario.STARTUP).isPresent(),
                    s::diagnostics);
            s.assertTunnel(a, b);
            ExecResult status = s.lab().exec(a.wg().host(), Duration.ofSeconds(60),
                    Lab.javaJar(s.jar(), "status", a.wg().interfaceName()));
            System.out.println(status.stdout());
            assertEquals(0, status.exitCode(), status.toString());
            assertTrue(Pattern.compile("^peer " + Pattern.quote(b.key()) + ": direct, endpoint "
                    + Pattern.quote(MeshScenario.hostPort(bLan)) + " \\(direct\\), handshake \\d+ s ago,", Pattern.MULTILINE)
                    .matcher(status.stdout()).find(), status.stdout());
        }
    }
}
