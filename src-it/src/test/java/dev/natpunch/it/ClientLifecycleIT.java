package dev.natpunch.it;

import static dev.natpunch.it.MeshScenario.lookupLine;
import static dev.natpunch.it.MeshScenario.peerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * The natpunch CLI over time: peers that register late, and a continuous client that outlives a
 * server restart.
 */
class ClientLifecycleIT {
    private static final Duration SHORT = Duration.ofSeconds(5);

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    @Test
    void peerThatRegistersLaterIsFoundByTheRetries() {
        try (MeshScenario s = MeshScenario.create()) {
            BackgroundProcess server = s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b);

            // default --delay (2 s), as a user would run it
            BackgroundProcess ca = s.startClient(a);
            assertTrue(ca.awaitLine(peerLine(b, "not registered yet$"), MeshScenario.STARTUP).isPresent(), s::diagnostics);
            // three lookups the server answered NOT FOUND: a keeps asking, about 4 s so far
            Pattern aAsksForB = lookupLine(a, b, "NOT FOUND");
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (server.countLines(aAsksForB) < 3) {
                assertTrue(System.nanoTime() < deadline, s::diagnostics);
                assertTrue(ca.isAlive(), s::diagnostics);
                sleep(Duration.ofMillis(200));
            }
            assertTrue(ca.isAlive(), "a's client waits for b instead of giving up");

            BackgroundProcess cb = s.startClient(b);
            assertEquals(0, s.exitStatus(ca), s::diagnostics);
            assertEquals(0, s.exitStatus(cb), s::diagnostics);
            assertTrue(ca.awaitLine(peerLine(b, "connected", b.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(a, "connected", a.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(server.countLines(lookupLine(a, b, "CONNECTED")) >= 1, s::diagnostics);
            System.out.println("a asked " + server.countLines(aAsksForB) + " times before b registered");
            s.assertTunnel(a, b);
        }
    }

    @Test
    void peerThatNeverRegistersEndsTheRunWithExit3AtTheTimeout() {
        try (MeshScenario s = MeshScenario.create()) {
            BackgroundProcess server = s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-d", "1", "--timeout", "5");
            assertEquals(3, s.exitStatus(ca), s::diagnostics);
            assertTrue(ca.awaitLine(Pattern.compile("^" + a.wg().interfaceName() + ": 1 peer: 1 not registered yet$"), SHORT).isPresent(), s::diagnostics);
            assertTrue(server.countLines(lookupLine(a, b, "NOT FOUND")) >= 2, () -> "asked again before giving up\n" + s.diagnostics());
            assertTrue(a.wg().endpoint(b.wg()).isEmpty(), "no endpoint invented");
        }
    }

    @Test
    void continuousClientSurvivesAServerRestartAndResolvesANewPeer() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-c", "-d", "1");
            BackgroundProcess cb = s.startClient(b, "-c", "-d", "1");
            s.assertTunnel(a, b);
            assertTrue(ca.isAlive() && cb.isAlive(), "continuous clients keep running");

            s.stopServer();
            // same private key (the clients only know that public key) and the same port
            BackgroundProcess restarted = s.startServer();
            // a's session died with the old server: a lookup times out, the next pass handshakes
            // again, and the new server (which knew nobody) answers a's lookups of b once b did the same
            assertTrue(ca.awaitLine(Pattern.compile("^Registered again with "), MeshScenario.CLIENT_RUN).isPresent(), s::diagnostics);
            assertTrue(restarted.awaitLine(lookupLine(a, b, "CONNECTED"), MeshScenario.CLIENT_RUN).isPresent(), s::diagnostics);

            // c joins: a learns of it from its own interface (read on every pass), c runs once
            c.wg().addPeer(a.wg(), (InetSocketAddress) null, 0);
            a.wg().addPeer(c.wg(), (InetSocketAddress) null, 0);
            BackgroundProcess cc = s.startClient(c, "-d", "1", "--verify", "30");
            assertEquals(0, s.exitStatus(cc), s::diagnostics);
            assertTrue(cc.awaitLine(peerLine(a, "connected", a.mapping()), SHORT).isPresent(), s::diagnostics);
            assertTrue(ca.awaitLine(peerLine(c, "endpoint set", c.mapping()), SHORT).isPresent(), s::diagnostics);
            s.assertTunnel(a, c);
            assertEquals(c.mapping(), a.wg().endpoint(c.wg()).orElseThrow());
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), "the old tunnel still works");
            assertTrue(ca.isAlive() && cb.isAlive(), s::diagnostics);
            System.out.println("mappings: a " + a.mapping() + ", b " + b.mapping() + ", c " + c.mapping() + "\n" + ca.output());
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
