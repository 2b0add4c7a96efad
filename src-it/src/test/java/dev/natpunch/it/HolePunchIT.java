package dev.natpunch.it;

import static dev.natpunch.it.MeshScenario.peerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The natpunch CLI end to end through real NATs: two WireGuard peers without endpoints, a server
 * on the lab internet and {@code natpunch client} run on both peers, as a user would.
 */
class HolePunchIT {
    private static final Duration SHORT = Duration.ofSeconds(5);

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    @Test
    void portPreservingAndPortChangingNatsGetADirectTunnel() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            System.out.println("mappings: a " + a.mapping() + ", b " + b.mapping());
            assertEquals(new InetSocketAddress(a.router().orElseThrow().publicAddress(), MeshScenario.WG_PORT), a.mapping());
            assertEquals(b.router().orElseThrow().publicAddress(), b.mapping().getAddress());
            assertNotEquals(MeshScenario.WG_PORT, b.mapping().getPort(), "the NAT changes the port");
            MeshScenario.mesh(a, b);

            BackgroundProcess ca = s.startClient(a, "-d", "1");
            BackgroundProcess cb = s.startClient(b, "-d", "1");
            assertEquals(0, s.exitStatus(ca), s::diagnostics);
            assertEquals(0, s.exitStatus(cb), s::diagnostics);

            // each side found the other's NAT mapping, not a LAN address or the server's view of something else
            assertTrue(ca.awaitLine(peerLine(b, "connected", b.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "connected", a.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(ca.awaitLine(Pattern.compile("^" + a.wg().interfaceName() + ": 1 peer: 1 connected$"), SHORT).isPresent(), s::diagnostics);
            assertEquals(b.mapping(), a.wg().endpoint(b.wg()).orElseThrow());
            assertEquals(a.mapping(), b.wg().endpoint(a.wg()).orElseThrow());
            s.assertTunnel(a, b);
            System.out.println("endpoints: a -> b " + a.wg().endpoint(b.wg()).orElseThrow()
                    + ", b -> a " + b.wg().endpoint(a.wg()).orElseThrow());
        }
    }

    @Test
    void publicPeerAndPeerBehindNatGetADirectTunnel() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer pub = s.onPublicHost("pub");
            Peer nat = s.behindNat("nat", NatKind.EIM_PORT_CHANGING);
            System.out.println("mappings: pub " + pub.mapping() + ", nat " + nat.mapping());
            MeshScenario.mesh(pub, nat);

            BackgroundProcess cp = s.startClient(pub, "-d", "1");
            BackgroundProcess cn = s.startClient(nat, "-d", "1");
            assertEquals(0, s.exitStatus(cp), s::diagnostics);
            assertEquals(0, s.exitStatus(cn), s::diagnostics);

            // nothing filters what reaches the public peer, so the NATed peer's handshake may
            // arrive before pub's own lookup succeeds; WireGuard then already has the endpoint
            // (roaming) and the client rightly leaves it alone: "already connected"
            assertTrue(cp.awaitLine(peerLine(nat, "(already )?connected", nat.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(cn.awaitLine(peerLine(pub, "connected", pub.mapping()), SHORT).isPresent(), s::diagnostics);
            assertEquals(nat.mapping(), pub.wg().endpoint(nat.wg()).orElseThrow());
            assertEquals(pub.mapping(), nat.wg().endpoint(pub.wg()).orElseThrow());
            s.assertTunnel(pub, nat);
        }
    }

    /**
     * A server that does not answer at first (every datagram to and from it lost, as on a bad
     * link) costs the one-shot clients retries, not the run: natpunch-go keeps asking too.
     */
    @Test
    void unansweredServerIsRetriedUntilItAnswers() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b);
            s.lab().setLoss(s.serverHost(), 100);
            // the clients' first attempts time out 10 s apart at worst: verify generously
            BackgroundProcess ca = s.startClient(a, "-d", "1", "--verify", "40");
            BackgroundProcess cb = s.startClient(b, "-d", "1", "--verify", "40");
            Pattern retrying = Pattern.compile("^retrying the rendezvous server .*no handshake response");
            assertTrue(ca.awaitLine(retrying, MeshScenario.STARTUP).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(retrying, MeshScenario.STARTUP).isPresent(), s::diagnostics);
            s.lab().setLoss(s.serverHost(), 0);

            assertEquals(0, s.exitStatus(ca), s::diagnostics);
            assertEquals(0, s.exitStatus(cb), s::diagnostics);
            assertTrue(ca.awaitLine(peerLine(b, "connected", b.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "connected", a.mapping()), SHORT).isPresent(), s::diagnostics);
            s.assertTunnel(a, b);
        }
    }

    /**
     * Behind two symmetric NATs the server sees each peer's mapping towards the server, and each
     * peer's WireGuard traffic leaves through a different, random mapping towards the other NAT,
     * which that NAT drops. The clients set endpoints (what the server said) but must say that no
     * handshake followed and exit 3.
     */
    @Test
    void symmetricNatsOnBothSidesAreReportedAsNotConnected() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.SYMMETRIC);
            Peer b = s.behindNat("b", NatKind.SYMMETRIC);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-d", "1", "--verify", "10");
            BackgroundProcess cb = s.startClient(b, "-d", "1", "--verify", "10");
            assertNoDirectPath(s, a, b, ca, cb);
            // the server did answer, with the mapping each NAT made towards the server
            assertEquals(b.router().orElseThrow().publicAddress(), a.wg().endpoint(b.wg()).orElseThrow().getAddress());
            assertEquals(a.router().orElseThrow().publicAddress(), b.wg().endpoint(a.wg()).orElseThrow().getAddress());
        }
    }

    /**
     * Symmetric on one side only: a fails too, because the other NAT (Linux conntrack, like every
     * lab router) filters by address and port. b sends to the mapping a has towards the server,
     * which lets in nothing but the server; a sends to b's real mapping, but from a new random
     * port, which b's NAT has never sent to and so drops. Only an endpoint-independent filter on
     * b's side (a "full cone", which Linux does not do) would let a's packets in; b's WireGuard
     * would then roam to a's real port and answer through it. (Should the symmetric NAT pick
     * the same random port for both destinations, about one run in 60000, they would connect.)
     */
    @Test
    void symmetricNatOnOneSideFailsAgainstAddressAndPortDependentFiltering() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.SYMMETRIC);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-d", "1", "--verify", "10");
            BackgroundProcess cb = s.startClient(b, "-d", "1", "--verify", "10");
            assertNoDirectPath(s, a, b, ca, cb);
            // a was told b's true mapping and b a's mapping towards the server: the failure is
            // a's NAT, not a wrong answer
            assertEquals(b.mapping(), a.wg().endpoint(b.wg()).orElseThrow());
            assertEquals(a.router().orElseThrow().publicAddress(), b.wg().endpoint(a.wg()).orElseThrow().getAddress());
        }
    }

    private static void assertNoDirectPath(MeshScenario s, Peer a, Peer b, BackgroundProcess ca, BackgroundProcess cb) {
        assertEquals(3, s.exitStatus(ca), s::diagnostics);
        assertEquals(3, s.exitStatus(cb), s::diagnostics);
        Pattern noHandshake = Pattern.compile("endpoint set, no handshake \\S+ \\(no WireGuard handshake.*a direct path is unlikely");
        var lineA = ca.awaitLine(peerLine(b, noHandshake.pattern()), SHORT);
        var lineB = cb.awaitLine(peerLine(a, noHandshake.pattern()), SHORT);
        assertTrue(lineA.isPresent(), s::diagnostics);
        assertTrue(lineB.isPresent(), s::diagnostics);
        System.out.println("a: " + lineA.get().line() + "\nb: " + lineB.get().line());
        assertFalse(ca.output().contains(": connected"), s::diagnostics);
        assertFalse(cb.output().contains(": connected"), s::diagnostics);
        assertTrue(ca.awaitLine(Pattern.compile("^" + a.wg().interfaceName() + ": 1 peer: 1 endpoint set, no handshake$"), SHORT).isPresent(), s::diagnostics);
        assertTrue(a.wg().latestHandshake(b.wg()).isEmpty(), s::diagnostics);
        assertTrue(b.wg().latestHandshake(a.wg()).isEmpty(), s::diagnostics);
        assertFalse(a.wg().ping(b.wg().tunnelAddress()), "no tunnel");
    }
}
