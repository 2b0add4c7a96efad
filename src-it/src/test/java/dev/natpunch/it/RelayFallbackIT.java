package dev.natpunch.it;

import static dev.natpunch.it.MeshScenario.peerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
 * The resolver's relay fallback end to end (issue 8): CLI clients in continuous mode behind real
 * symmetric NATs, a server started with {@code --relay}, wireguard-go peers.
 */
class RelayFallbackIT {
    private static final Duration RELAYED_WITHIN = Duration.ofSeconds(90);
    /** Two direct-attempt slots (30 s each) and the verification time, with room for a loaded machine. */
    private static final Duration DIRECT_WITHIN = Duration.ofSeconds(120);

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /**
     * Both peers behind symmetric NATs: no direct path, so both end {@code relayed} and ping each
     * other through the relay. Then both NATs become endpoint-independent (and forget their
     * mappings): at the next direct-attempt slot the pair moves to a direct path by itself and
     * leaves the relay. (With address-and-port-dependent filtering on both sides, as every lab NAT
     * has, a pair with one symmetric NAT left cannot go direct; HolePunchIT shows that.)
     */
    @Test
    void symmetricNatsEndRelayedAndMoveToDirectOnceTheNatsAllowIt() {
        try (MeshScenario s = MeshScenario.create()) {
            KeyPair keys = KeyPair.generate();
            InetAddress serverIp = s.serverHost().address();
            s.startServerOn(s.serverHost(), keys, "--relay", "--relay-address", serverIp.getHostAddress());
            String server = serverIp.getHostAddress() + ":" + MeshScenario.SERVER_PORT + "=" + keys.publicKey().toBase64();
            Peer a = s.behindNat("a", NatKind.SYMMETRIC);
            Peer b = s.behindNat("b", NatKind.SYMMETRIC);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClientWith(a, "-c", "-d", "1", "--verify", "5", "--server", server, a.wg().interfaceName());
            BackgroundProcess cb = s.startClientWith(b, "-c", "-d", "1", "--verify", "5", "--server", server, b.wg().interfaceName());

            assertTrue(ca.awaitLine(peerLine(b, "relayed "), RELAYED_WITHIN).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "relayed "), RELAYED_WITHIN).isPresent(), s::diagnostics);
            s.assertTunnel(a, b);
            InetSocketAddress viaRelay = a.wg().endpoint(b.wg()).orElseThrow();
            assertEquals(serverIp, viaRelay.getAddress(), "a sends to the relay on the server host");
            assertNotEquals(MeshScenario.SERVER_PORT, viaRelay.getPort(), "a relay port, not the rendezvous port");
            assertEquals(serverIp, b.wg().endpoint(a.wg()).orElseThrow().getAddress());
            System.out.println("relayed: a -> b via " + viaRelay + ", b -> a via " + b.wg().endpoint(a.wg()).orElseThrow());

            for (Peer p : new Peer[] {a, b}) {
                s.lab().setNatKind(p.router().orElseThrow(), NatKind.EIM_PORT_PRESERVING);
                s.lab().flushConntrack(p.router().orElseThrow());
            }
            assertTrue(ca.awaitLine(peerLine(b, "connected "), DIRECT_WITHIN).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "connected "), DIRECT_WITHIN).isPresent(), s::diagnostics);
            InetSocketAddress direct = a.wg().endpoint(b.wg()).orElseThrow();
            assertEquals(new InetSocketAddress(b.router().orElseThrow().publicAddress(), MeshScenario.WG_PORT), direct,
                    "a now sends straight to b's NAT");
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), s::diagnostics);
            assertTrue(b.wg().ping(a.wg().tunnelAddress()), s::diagnostics);
            System.out.println("direct again: a -> b " + direct + ", b -> a " + b.wg().endpoint(a.wg()).orElseThrow());
        }
    }
}
