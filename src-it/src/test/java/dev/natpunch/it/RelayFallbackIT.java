package dev.natpunch.it;

import static dev.natpunch.it.MeshScenario.peerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The resolver leaves the relay by itself once a direct path exists (issue 8): CLI clients in
 * continuous mode behind real NATs, a server started with {@code --relay}, wireguard-go peers.
 */
class RelayFallbackIT {
    private static final Duration RELAYED_WITHIN = Duration.ofSeconds(90);
    /** One direct-attempt slot (30 s) and the proof, with room for a loaded machine. */
    private static final Duration DIRECT_WITHIN = Duration.ofSeconds(75);

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /**
     * Both peers behind symmetric NATs: relayed. Then b's NAT becomes a full cone
     * (endpoint-independent mapping and filtering) while a's stays symmetric, and the relayed
     * tunnel goes on working meanwhile. At the next direct-attempt slot a's datagrams to b's
     * public mapping get in; b's WireGuard learns a's real port (one toward b that the server
     * never saw) from them, and b's client keeps that endpoint rather than the one the server
     * reports. Both end {@code connected} on direct paths, the relay pair is released, and
     * nothing moves them back.
     */
    @Test
    void oneNatTurnedFullConeMovesARelayedPairToDirectByItself() {
        try (MeshScenario s = MeshScenario.create()) {
            KeyPair keys = KeyPair.generate();
            InetAddress serverIp = s.serverHost().address();
            s.startServerOn(s.serverHost(), keys, "--relay=20000-20099", "--relay-address", serverIp.getHostAddress());
            String server = serverIp.getHostAddress() + ":" + MeshScenario.SERVER_PORT + "=" + keys.publicKey().toBase64();
            Peer a = s.behindNat("a", NatKind.SYMMETRIC);
            Peer b = s.behindNat("b", NatKind.SYMMETRIC);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClientWith(a, "-c", "-d", "1", "--verify", "5", "-k", "5", "--server", server,
                    a.wg().interfaceName());
            BackgroundProcess cb = s.startClientWith(b, "-c", "-d", "1", "--verify", "5", "-k", "5", "--server", server,
                    b.wg().interfaceName());

            assertTrue(ca.awaitLine(peerLine(b, "relayed "), RELAYED_WITHIN).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "relayed "), RELAYED_WITHIN).isPresent(), s::diagnostics);
            s.assertTunnel(a, b);
            assertEquals(serverIp, a.wg().endpoint(b.wg()).orElseThrow().getAddress(), "a sends to the relay");
            assertEquals(2, RelayIT.relayPorts(s.lab(), s.serverHost()));

            s.lab().setNatKind(b.router().orElseThrow(), NatKind.FULL_CONE);
            assertTrue(ca.awaitLine(peerLine(b, "connected "), DIRECT_WITHIN).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "connected "), DIRECT_WITHIN).isPresent(), s::diagnostics);
            InetSocketAddress aToB = a.wg().endpoint(b.wg()).orElseThrow();
            InetSocketAddress bToA = b.wg().endpoint(a.wg()).orElseThrow();
            System.out.println("direct: a -> b " + aToB + ", b -> a " + bToA);
            assertEquals(b.router().orElseThrow().publicAddress(), aToB.getAddress(), "a sends straight to b's NAT");
            assertEquals(a.router().orElseThrow().publicAddress(), bToA.getAddress(), "b sends straight to a's NAT");
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), s::diagnostics);
            assertTrue(b.wg().ping(a.wg().tunnelAddress()), s::diagnostics);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (RelayIT.relayPorts(s.lab(), s.serverHost()) > 0) {
                assertTrue(System.nanoTime() < deadline, "the relay pair was not released\n" + s.diagnostics());
                MeshWatch.sleep(Duration.ofMillis(200));
            }

            // Passes and keepalives go on: the endpoints stay, nothing goes back to the relay.
            long relayedA = ca.countLines(peerLine(b, "relayed "));
            long relayedB = cb.countLines(peerLine(a, "relayed "));
            MeshWatch.sleep(Duration.ofSeconds(12));
            assertEquals(aToB, a.wg().endpoint(b.wg()).orElseThrow());
            assertEquals(bToA, b.wg().endpoint(a.wg()).orElseThrow());
            assertEquals(relayedA, ca.countLines(peerLine(b, "relayed ")), s::diagnostics);
            assertEquals(relayedB, cb.countLines(peerLine(a, "relayed ")), s::diagnostics);
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), s::diagnostics);
        }
    }
}
