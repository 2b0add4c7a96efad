package dev.natpunch.it;

import static dev.natpunch.it.MeshScenario.peerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.Host;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.NatKind;
import dev.natpunch.it.lab.Router;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Protocol version 2 end to end (issue 4): the CLI client and server in namespaces behind real
 * nftables NATs, with wireguard-go peers.
 */
class ProtocolV2IT {
    private static final Duration MESH = Duration.ofSeconds(120);

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    /**
     * Sixteen peers, each behind its own NAT (both endpoint-independent kinds), all started at
     * once in continuous mode, reach a full mesh; the server's packet counters show that no client
     * needed version 1 lookups and that each sent only a handful of sealed requests (a subscription,
     * a registration, one batch lookup, and an acknowledgement per push) where version 1 would ask
     * for 15 peers on every pass.
     */
    @Test
    void sixteenPeersStartedAtOnceReachAFullMeshInAFewRoundTrips() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            List<Peer> peers = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                peers.add(s.behindNat("m" + i, i % 2 == 0 ? NatKind.EIM_PORT_PRESERVING : NatKind.EIM_PORT_CHANGING));
            }
            MeshScenario.mesh(peers.toArray(Peer[]::new));
            PacketCounters counters = PacketCounters.install(s, peers);
            Instant start = Instant.now();
            List<BackgroundProcess> clients = new ArrayList<>();
            for (Peer p : peers) {
                clients.add(s.startClient(p, "-c", "-d", "1", "--verify", "20"));
            }
            for (Peer a : peers) {
                for (Peer b : peers) {
                    if (a != b) {
                        assertTrue(a.wg().waitForHandshake(b.wg(), MESH), () -> "no handshake " + a.wg() + " -> " + b.wg()
                                + "\n" + s.diagnostics());
                    }
                }
            }
            Duration toMesh = Duration.between(start, Instant.now());
            List<long[]> counts = counters.read();
            System.out.println("16-peer mesh in " + toMesh.toMillis() + " ms; per client [handshakes, v1 lookups, sealed]: "
                    + counts.stream().map(java.util.Arrays::toString).toList());
            for (int i = 0; i < peers.size(); i++) {
                long[] c = counts.get(i);
                assertEquals(0, c[1], "client " + i + " fell back to version 1 lookups");
                // Per handshake a subscription, a registration and one batch lookup, plus an ack
                // per push (15 peers) and retransmissions while 16 JVMs start on this machine.
                // Version 1 would send 15 lookups on every 1 s pass: hundreds in this time.
                long v1Would = 15 * Math.max(1, toMesh.toSeconds());
                assertTrue(c[2] <= 60 && c[2] * 5 < v1Would, "client " + i + " sent " + c[2]
                        + " sealed datagrams; version 1 would have sent about " + v1Would + " lookups");
                assertTrue(c[0] >= 1 && c[0] <= 3, "client " + i + " handshakes: " + c[0]);
            }
            for (BackgroundProcess c : clients) {
                assertTrue(c.isAlive(), () -> c + " ended\n" + c.output());
            }
        }
    }

    /**
     * Two peers run in continuous mode with polling effectively off (a 60 s delay); a third peer
     * that starts later is pushed to both by the server at once: both set its endpoint long
     * before any poll could have, and the tunnels come up.
     */
    @Test
    void aPeerThatJoinsLateIsPushedToTheOthersWithoutPolling() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b, c);
            BackgroundProcess ca = s.startClient(a, "-c", "-d", "60", "--verify", "20");
            BackgroundProcess cb = s.startClient(b, "-c", "-d", "60", "--verify", "20");
            s.assertTunnel(a, b);
            assertTrue(ca.awaitLine(peerLine(c, "not registered yet$"), MeshScenario.STARTUP).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(peerLine(c, "not registered yet$"), MeshScenario.STARTUP).isPresent(), s::diagnostics);

            BackgroundProcess cc = s.startClient(c, "-c", "-d", "60", "--verify", "20");
            assertTrue(cc.awaitLine(Pattern.compile("^Registered with "), MeshScenario.STARTUP).isPresent(), s::diagnostics);
            Instant registered = Instant.now();
            Optional<Duration> pushedA = awaitEndpoint(a, c, Duration.ofSeconds(20));
            Optional<Duration> pushedB = awaitEndpoint(b, c, Duration.ofSeconds(20));
            assertTrue(pushedA.isPresent() && pushedB.isPresent(), s::diagnostics);
            System.out.println("late joiner's endpoint set at a " + pushedA.get().toMillis() + " ms and at b "
                    + Duration.between(registered, Instant.now()).toMillis() + " ms (at most) after its client printed that it registered");
            assertTrue(ca.awaitLine(peerLine(c, "pushed "), Duration.ofSeconds(5)).isPresent(), s::diagnostics);
            s.assertTunnel(a, c);
            s.assertTunnel(b, c);
        }
    }

    /**
     * Dual-stack peers given the server's IPv4 address only: each learns the server's IPv6
     * address from INFO and registers its IPv6 address there too, so the other side is pushed both
     * families; the tunnel comes up (over IPv4, which the resolver tries first).
     */
    @Test
    void dualStackPeersRegisterBothFamiliesFromAnIpv4ServerAddress() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Router ra = s.lab().router("ra").nat(NatKind.EIM_PORT_PRESERVING).ipv6(dev.natpunch.it.lab.Ipv6Lan.FIREWALLED).add();
            Router rb = s.lab().router("rb").nat(NatKind.EIM_PORT_CHANGING).ipv6(dev.natpunch.it.lab.Ipv6Lan.FIREWALLED).add();
            Peer a = s.behind(ra, "a");
            Peer b = s.behind(rb, "b");
            MeshScenario.mesh(a, b);
            BackgroundProcess ca = s.startClient(a, "-c", "-d", "1", "--verify", "10");
            BackgroundProcess cb = s.startClient(b, "-c", "-d", "1", "--verify", "10");
            String bV6 = "[" + b.wg().host().address6().orElseThrow().getHostAddress() + "]:" + MeshScenario.WG_PORT;
            String aV6 = "[" + a.wg().host().address6().orElseThrow().getHostAddress() + "]:" + MeshScenario.WG_PORT;
            assertTrue(ca.awaitLine(Pattern.compile(Pattern.quote("peer " + b.key() + ": pushed ") + ".*" + Pattern.quote(bV6)),
                    MeshScenario.STARTUP).isPresent(), s::diagnostics);
            assertTrue(cb.awaitLine(Pattern.compile(Pattern.quote("peer " + a.key() + ": pushed ") + ".*" + Pattern.quote(aV6)),
                    MeshScenario.STARTUP).isPresent(), s::diagnostics);
            s.assertTunnel(a, b);
        }
    }

    /** Two IPv6-only hosts behind home routers' stateful firewalls connect over IPv6. */
    @Test
    void anIpv6OnlyPairConnects() {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            Router ra = s.lab().router("r6a").ipv6Only().add();
            Router rb = s.lab().router("r6b").ipv6Only().add();
            Peer a = s.behind(ra, "a6");
            Peer b = s.behind(rb, "b6");
            MeshScenario.mesh(a, b);
            String server = "[" + s.serverHost().address6().orElseThrow().getHostAddress() + "]:" + MeshScenario.SERVER_PORT;
            BackgroundProcess ca = s.startClientWith(a, "-d", "1", a.wg().interfaceName(), server, s.serverPublicKey());
            BackgroundProcess cb = s.startClientWith(b, "-d", "1", b.wg().interfaceName(), server, s.serverPublicKey());
            assertEquals(0, s.exitStatus(ca), s::diagnostics);
            assertEquals(0, s.exitStatus(cb), s::diagnostics);
            InetSocketAddress aAt = b.wg().endpoint(a.wg()).orElseThrow();
            InetSocketAddress bAt = a.wg().endpoint(b.wg()).orElseThrow();
            assertEquals(a.wg().host().address6().orElseThrow(), aAt.getAddress());
            assertEquals(b.wg().host().address6().orElseThrow(), bAt.getAddress());
            s.assertTunnel(a, b);
        }
    }

    /**
     * Two servers; every client registers with both. One server is killed while the mesh runs: the
     * tunnels stay up, and a peer that joins afterwards still reaches the others through the
     * remaining server.
     */
    @Test
    void oneOfTwoServersKilledMidRunChangesNothing() {
        try (MeshScenario s = MeshScenario.create()) {
            BackgroundProcess first = s.startServer();
            Host second = s.lab().addPublicHost("srv2");
            KeyPair secondKeys = KeyPair.generate();
            s.startServerOn(second, secondKeys);
            String both1 = s.serverEndpoint() + "=" + s.serverPublicKey();
            String both2 = second.address().getHostAddress() + ":" + MeshScenario.SERVER_PORT + "=" + secondKeys.publicKey().toBase64();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer c = s.behindNat("c", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b, c);
            BackgroundProcess ca = s.startClientWith(a, "-c", "-d", "1", "--verify", "20", "--server", both1, "--server", both2, a.wg().interfaceName());
            BackgroundProcess cb = s.startClientWith(b, "-c", "-d", "1", "--verify", "20", "--server", both1, "--server", both2, b.wg().interfaceName());
            s.assertTunnel(a, b);
            assertTrue(ca.awaitLine(Pattern.compile("^Registered with " + Pattern.quote(second.address().getHostAddress())), MeshScenario.STARTUP).isPresent(), s::diagnostics);

            first.kill();
            BackgroundProcess cc = s.startClientWith(c, "-c", "-d", "1", "--verify", "20", "--server", both1, "--server", both2, c.wg().interfaceName());
            s.assertTunnel(a, c);
            s.assertTunnel(b, c);
            assertTrue(a.wg().ping(b.wg().tunnelAddress()), s::diagnostics);
            for (BackgroundProcess p : List.of(ca, cb, cc)) {
                assertTrue(p.isAlive(), () -> p + " ended\n" + p.output());
            }
        }
    }

    /**
     * A server in mutual mode: a and b list each other and connect; x lists a, but a does not list
     * x, so to x the server answers as if a had never registered, and x's WireGuard gets nothing.
     */
    @Test
    void mutualModeHidesAPeerFromAClientThePeerDoesNotList() {
        try (MeshScenario s = MeshScenario.create()) {
            KeyPair keys = KeyPair.generate();
            s.startServerOn(s.serverHost(), keys, "--mutual");
            String server = s.serverHost().address().getHostAddress() + ":" + MeshScenario.SERVER_PORT + "=" + keys.publicKey().toBase64();
            Peer a = s.behindNat("a", NatKind.EIM_PORT_PRESERVING);
            Peer b = s.behindNat("b", NatKind.EIM_PORT_CHANGING);
            Peer x = s.behindNat("x", NatKind.EIM_PORT_PRESERVING);
            MeshScenario.mesh(a, b);
            x.wg().addPeer(a.wg(), (InetSocketAddress) null, 0);
            BackgroundProcess ca = s.startClientWith(a, "-d", "1", "--server", server, a.wg().interfaceName());
            BackgroundProcess cb = s.startClientWith(b, "-d", "1", "--server", server, b.wg().interfaceName());
            BackgroundProcess cx = s.startClientWith(x, "-d", "1", "--timeout", "15", "--server", server, x.wg().interfaceName());
            assertEquals(0, s.exitStatus(ca), s::diagnostics);
            assertEquals(0, s.exitStatus(cb), s::diagnostics);
            assertEquals(3, s.exitStatus(cx), s::diagnostics);
            assertTrue(cx.awaitLine(peerLine(a, "not registered yet$"), Duration.ofSeconds(5)).isPresent(), s::diagnostics);
            assertTrue(x.wg().endpoint(a.wg()).isEmpty(), "x learned nothing about a");
            s.assertTunnel(a, b);
        }
    }

    /** How long until {@code at} has an endpoint for {@code peer}, polled every 20 ms. */
    private static Optional<Duration> awaitEndpoint(Peer at, Peer peer, Duration timeout) {
        Instant start = Instant.now();
        Instant end = start.plus(timeout);
        while (Instant.now().isBefore(end)) {
            if (at.wg().endpoint(peer.wg()).isPresent()) {
                return Optional.of(Duration.between(start, Instant.now()));
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /**
     * nftables counters on the server host, per client (by its NAT's public address): handshake
     * initiations (type 1), version 1 lookups (type 3) and sealed version 2 requests (type 4).
     */
    private record PacketCounters(MeshScenario s, List<InetAddress> sources) {
        static final String TABLE = "npcount";

        static PacketCounters install(MeshScenario s, List<Peer> peers) {
            List<InetAddress> sources = new ArrayList<>();
            StringBuilder rules = new StringBuilder("table inet " + TABLE + " {\n chain in {\n  type filter hook input priority -10;\n");
            for (Peer p : peers) {
                InetAddress src = p.router().orElseThrow().publicAddress();
                sources.add(src);
                for (int type : new int[] {1, 3, 4}) {
                    rules.append("  ip saddr ").append(src.getHostAddress()).append(" udp dport ")
                            .append(MeshScenario.SERVER_PORT).append(" @th,64,8 ").append(type).append(" counter\n");
                }
            }
            rules.append(" }\n}\n");
            s.lab().execWithInput(s.serverHost(), Duration.ofSeconds(10), rules.toString(), "nft", "-f", "-");
            return new PacketCounters(s, sources);
        }

        /** Per source, in order: {handshakes, v1 lookups, sealed}. */
        List<long[]> read() {
            String out = s.lab().exec(s.serverHost(), "nft", "list", "table", "inet", TABLE).stdout();
            Matcher m = Pattern.compile("counter packets (\\d+)").matcher(out);
            List<Long> all = new ArrayList<>();
            while (m.find()) {
                all.add(Long.parseLong(m.group(1)));
            }
            assertEquals(sources.size() * 3, all.size(), out);
            List<long[]> per = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                per.add(new long[] {all.get(3 * i), all.get(3 * i + 1), all.get(3 * i + 2)});
            }
            return per;
        }
    }
}
