package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Faults in the network and at the server while a mesh of three WireGuard peers behind NATs
 * runs {@code natpunch client} continuously. After each fault the mesh must converge again
 * (a WireGuard handshake newer than the fault between the peers it touched), every client must
 * still be running and must not have spun (its CPU time over the fault stays a small share of
 * the wall time), and no peer's endpoint may ever have been anything but a real NAT mapping of
 * that peer ({@link MeshWatch}).
 */
class FaultToleranceIT {
    /** Persistent keepalive 5 s: a silent peer counts as stale after 2 x 5 + 5 s. */
    private static final String[] CLIENT_OPTIONS = {"-c", "-d", "1", "-k", "5"};
    private static final Duration FORM = Duration.ofSeconds(60);
    /**
     * With push updates the version-2 client passes over its peers only every 30 s, so it may
     * notice a restarted server or a stale endpoint that much later (44 s and 32 s seen here).
     */
    private static final Duration CONVERGE = Duration.ofSeconds(90);
    /**
     * After a minute without the server a client may have just begun its longest pause (60 s
     * plus up to a quarter of jitter) and then waits 10 s for an answer: up to about 85 s before
     * it registers again (6 to 86 s seen here), then the lookups and WireGuard's handshake.
     */
    private static final Duration AFTER_OUTAGE = Duration.ofSeconds(120);
    /**
     * Issue 7.3's 30%. The version-2 client formed the mesh in 14 to 66 s here. The version-1
     * resolver ({@code --protocol 1} in {@link #CLIENT_OPTIONS}) sends each request once, waits
     * 10 s for the answer and after one lost lookup starts over with a new handshake after a
     * growing pause: it had not formed the mesh after 150 s, and needs about 10% to pass.
     */
    private static final int LOSS_PERCENT = Integer.getInteger("natpunch.it.lossPercent", 30);
    private static final Duration LOSSY_FORM = Duration.ofSeconds(150);
    /**
     * A spinning client burns a whole core; one that waits uses a few percent (1 to 6% here),
     * plus the JIT compiling its hot paths early on, which the fixed allowance covers.
     */
    private static final double MAX_CPU_SHARE = 0.15;
    private static final Duration CPU_ALLOWANCE = Duration.ofSeconds(1);

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /**
     * {@link #LOSS_PERCENT} of the datagrams crossing the internet are lost, each direction
     * independently, from before the clients start until the mesh has formed: requests to the
     * server, its answers and every WireGuard handshake message. The clients retry until every
     * pair is connected.
     */
    @Test
    void meshFormsDespitePacketLoss() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b, c);
            s.lab().setInternetLoss(LOSS_PERCENT);
            try (MeshWatch watch = MeshWatch.start(s)) {
                Instant fault = MeshWatch.nextSecond();
                List<BackgroundProcess> clients = startClients(s);
                for (BackgroundProcess client : clients) {
                    // the JVM's start-up is not the client's doing: count from its first line on
                    assertTrue(client.awaitLine(Pattern.compile("."), MeshScenario.STARTUP).isPresent(), s::diagnostics);
                }
                Cpu cpu = Cpu.start(clients);
                Duration took = watch.awaitHandshakes(fault, LOSSY_FORM, watch.allPairs());
                System.out.println(LOSS_PERCENT + "% loss: full mesh after " + took + "\n" + watch.summary());
                s.lab().setInternetLoss(0);
                s.assertTunnel(a, c);
                assertHealthy(s, watch, clients, cpu);
            }
        }
    }

    /**
     * The server crashes (SIGKILL) and comes back with an empty table, and every peer forgets
     * every other (configuration reloaded): the clients notice their sessions are gone, register
     * again and find each other through the new server.
     */
    @Test
    void meshConvergesAgainAfterTheServerIsKilledAndRestarted() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b, c);
            try (MeshWatch watch = MeshWatch.start(s)) {
                List<BackgroundProcess> clients = startClients(s);
                watch.awaitHandshakes(Instant.EPOCH, FORM, watch.allPairs());
                Cpu cpu = Cpu.start(clients);
                Instant fault = MeshWatch.nextSecond();
                s.killServer();
                s.restartServer();
                forgetEveryone(s);
                Duration took = watch.awaitHandshakes(fault, CONVERGE, watch.allPairs());
                System.out.println("server killed and restarted: full mesh again after " + took + "\n" + watch.summary());
                for (BackgroundProcess client : clients) {
                    assertTrue(client.awaitLine(Pattern.compile("^Registered again with "), Duration.ZERO).isPresent(), s::diagnostics);
                }
                s.assertTunnel(a, b);
                assertHealthy(s, watch, clients, cpu);
            }
        }
    }

    /**
     * b's NAT reboots: its mappings are gone and b's listen port leaves from a new public port.
     * The others' endpoints for b are stale, and b's packets from the new port are dropped by
     * their NATs (address and port dependent filtering) until they send to it; the clients learn
     * the new mapping from the server and set it once WireGuard has stopped hearing from b.
     */
    @Test
    void meshConvergesAgainAfterANatForgetsItsMappings() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b, c);
            try (MeshWatch watch = MeshWatch.start(s)) {
                List<BackgroundProcess> clients = startClients(s);
                watch.awaitHandshakes(Instant.EPOCH, FORM, watch.allPairs());
                Cpu cpu = Cpu.start(clients);
                Instant fault = MeshWatch.nextSecond();
                s.lab().rebootNat(b.router().orElseThrow());
                Duration took = watch.awaitHandshakes(fault, CONVERGE, watch.pairsWith(b));
                System.out.println("b's NAT rebooted: b connected again after " + took + "\n" + watch.summary());
                s.assertTunnel(a, b);
                s.assertTunnel(c, b);
                assertHealthy(s, watch, clients, cpu);
            }
        }
    }

    /**
     * b moves to another NAT while the mesh runs, as a laptop changes networks: new private and
     * public addresses, the same wireguard-go. The others must learn b's new mapping and b must
     * send from its new address again.
     */
    @Test
    void meshConvergesAgainAfterAPeerMovesToAnotherNat() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b, c);
            dev.natpunch.it.lab.Router elsewhere = s.lab().addRouter("relse", NatKind.EIM_PORT_CHANGING);
            try (MeshWatch watch = MeshWatch.start(s)) {
                List<BackgroundProcess> clients = startClients(s);
                watch.awaitHandshakes(Instant.EPOCH, FORM, watch.allPairs());
                Cpu cpu = Cpu.start(clients);
                Instant fault = MeshWatch.nextSecond();
                s.lab().moveHost(b.wg().host(), elsewhere);
                Duration took = watch.awaitHandshakes(fault, CONVERGE, watch.pairsWith(b));
                System.out.println("b moved to another NAT: b connected again after " + took + "\n" + watch.summary());
                s.assertTunnel(a, b);
                assertHealthy(s, watch, clients, cpu);
            }
        }
    }

    /**
     * The server's cable is pulled for a minute, during which every peer forgets every other:
     * nobody can be found until the server is back, the clients keep retrying with growing
     * pauses instead of giving up or spinning, and the mesh forms again once it answers.
     */
    @Test
    void meshConvergesAgainAfterTheServerIsUnreachableForAMinute() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_CHANGING);
            MeshScenario.mesh(a, b, c);
            try (MeshWatch watch = MeshWatch.start(s)) {
                List<BackgroundProcess> clients = startClients(s);
                watch.awaitHandshakes(Instant.EPOCH, FORM, watch.allPairs());
                Cpu cpu = Cpu.start(clients);
                MeshWatch.nextSecond();
                s.lab().disconnect(s.serverHost());
                forgetEveryone(s);
                MeshWatch.sleep(Duration.ofSeconds(60));
                Pattern retrying = Pattern.compile("^retrying the rendezvous server ");
                for (BackgroundProcess client : clients) {
                    assertTrue(client.countLines(retrying) >= 2, () -> client + " did not keep retrying\n" + s.diagnostics());
                }
                Instant back = MeshWatch.nextSecond();
                s.lab().reconnect(s.serverHost());
                Duration took = watch.awaitHandshakes(back, AFTER_OUTAGE, watch.allPairs());
                System.out.println("server unreachable for 60 s: full mesh again " + took + " after it came back\n" + watch.summary());
                s.assertTunnel(b, c);
                assertHealthy(s, watch, clients, cpu);
            }
        }
    }

    private static List<BackgroundProcess> startClients(MeshScenario s) {
        List<BackgroundProcess> clients = new ArrayList<>();
        for (Peer p : s.peers()) {
            clients.add(s.startClient(p, CLIENT_OPTIONS));
        }
        return clients;
    }

    private static void forgetEveryone(MeshScenario s) {
        for (Peer at : s.peers()) {
            for (Peer other : s.peers()) {
                if (at != other) {
                    MeshScenario.reloadPeer(at, other);
                }
            }
        }
    }

    private static void assertHealthy(MeshScenario s, MeshWatch watch, List<BackgroundProcess> clients, Cpu cpu) {
        for (BackgroundProcess client : clients) {
            assertTrue(client.isAlive(), () -> client + " gave up\n" + s.diagnostics());
        }
        cpu.assertNoSpinning(s);
        watch.assertNoWrongEndpoint();
    }

    /** The clients' CPU time from a start instant on. */
    private record Cpu(List<BackgroundProcess> clients, List<Duration> before, long startNanos) {
        static Cpu start(List<BackgroundProcess> clients) {
            return new Cpu(clients, clients.stream().map(c -> c.cpuTime().orElseThrow()).toList(), System.nanoTime());
        }

        void assertNoSpinning(MeshScenario s) {
            Duration wall = Duration.ofNanos(System.nanoTime() - startNanos);
            for (int i = 0; i < clients.size(); i++) {
                BackgroundProcess c = clients.get(i);
                Duration used = c.cpuTime().orElseThrow().minus(before.get(i));
                double share = (double) used.toMillis() / wall.toMillis();
                System.out.printf("%s: %d ms CPU in %d ms (%.1f%%)%n", c, used.toMillis(), wall.toMillis(), 100 * share);
                assertTrue(used.toMillis() < MAX_CPU_SHARE * wall.toMillis() + CPU_ALLOWANCE.toMillis(),
                        () -> c + " used " + used + " of CPU in " + wall + "\n" + s.diagnostics());
            }
        }
    }
}
