package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.Host;
import dev.natpunch.it.lab.IpStack;
import dev.natpunch.it.lab.Ipv6Lan;
import dev.natpunch.it.lab.Lab;
import dev.natpunch.it.lab.LabException;
import dev.natpunch.it.lab.NatKind;
import dev.natpunch.it.lab.Node;
import dev.natpunch.it.lab.Router;
import dev.natpunch.it.lab.WgNode;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Proves the lab itself behaves as documented, independently of natpunch: the three NAT kinds
 * map as RFC 4787 describes them, IPv6 is routed through stateful firewalls, IPv6-only nodes have
 * no IPv4, two WireGuard peers behind NATs or firewalls with pre-written endpoints connect, and
 * nothing outlives the lab.
 */
class LabSelfTestIT {
    private static final int ECHO_PORT = 7000;
    private static final int PRIVATE_PORT = 31000;

    @BeforeAll
    static void requireLab() {
        Lab.assumeAvailable();
    }

    @Test
    void natKindsMapAsDocumented() {
        try (Lab lab = Lab.create()) {
            Host echo1 = lab.addPublicHost("echo1");
            Host echo2 = lab.addPublicHost("echo2");
            Router preserving = lab.addRouter("rpp", NatKind.EIM_PORT_PRESERVING);
            Router changing = lab.addRouter("rpc", NatKind.EIM_PORT_CHANGING);
            Router symmetric = lab.addRouter("rsym", NatKind.SYMMETRIC);
            Host a = lab.addHost(preserving, "a");
            Host b = lab.addHost(changing, "b");
            Host c = lab.addHost(symmetric, "c");
            lab.startUdpEcho(echo1, ECHO_PORT);
            lab.startUdpEcho(echo2, ECHO_PORT);
            InetSocketAddress e1 = new InetSocketAddress(echo1.address(), ECHO_PORT);
            InetSocketAddress e2 = new InetSocketAddress(echo2.address(), ECHO_PORT);

            List<InetSocketAddress> seenA = lab.udpProbe(a, PRIVATE_PORT, e1, e2);
            System.out.println("EIM_PORT_PRESERVING " + a + ":" + PRIVATE_PORT + " -> " + seenA);
            assertEquals(new InetSocketAddress(preserving.publicAddress(), PRIVATE_PORT), seenA.get(0));
            assertEquals(seenA.get(0), seenA.get(1), "endpoint-independent mapping");

            List<InetSocketAddress> seenB = lab.udpProbe(b, PRIVATE_PORT, e1, e2);
            System.out.println("EIM_PORT_CHANGING " + b + ":" + PRIVATE_PORT + " -> " + seenB);
            assertEquals(changing.publicAddress(), seenB.get(0).getAddress());
            assertNotEquals(PRIVATE_PORT, seenB.get(0).getPort(), "port changed");
            assertTrue(seenB.get(0).getPort() >= Lab.PORT_CHANGING_FIRST && seenB.get(0).getPort() <= Lab.PORT_CHANGING_LAST);
            assertEquals(seenB.get(0), seenB.get(1), "endpoint-independent mapping");
            // the port is a function of the private address:port, so a second private port maps elsewhere
            List<InetSocketAddress> seenB2 = lab.udpProbe(b, PRIVATE_PORT + 1, e1, e2);
            System.out.println("EIM_PORT_CHANGING " + b + ":" + (PRIVATE_PORT + 1) + " -> " + seenB2);
            assertEquals(seenB2.get(0), seenB2.get(1), "endpoint-independent mapping");
            assertNotEquals(seenB.get(0), seenB2.get(0));

            List<InetSocketAddress> seenC = lab.udpProbe(c, PRIVATE_PORT, e1, e2);
            System.out.println("SYMMETRIC " + c + ":" + PRIVATE_PORT + " -> " + seenC);
            assertEquals(symmetric.publicAddress(), seenC.get(0).getAddress());
            assertNotEquals(seenC.get(0).getPort(), seenC.get(1).getPort(), "mapping depends on the destination");

            // switching at runtime: new flows of the same private endpoint follow the new kind
            lab.setNatKind(preserving, NatKind.SYMMETRIC);
            lab.flushConntrack(preserving);
            List<InetSocketAddress> seenA2 = lab.udpProbe(a, PRIVATE_PORT, e1, e2);
            System.out.println("EIM_PORT_PRESERVING -> SYMMETRIC " + a + ":" + PRIVATE_PORT + " -> " + seenA2);
            assertNotEquals(seenA2.get(0).getPort(), seenA2.get(1).getPort());
            assertEquals(NatKind.SYMMETRIC, preserving.natKind());
        }
    }

    @Test
    void hairpinLetsLanHostsMeetThroughTheirPublicMappings() {
        for (NatKind kind : List.of(NatKind.EIM_PORT_PRESERVING, NatKind.EIM_PORT_CHANGING)) {
            try (Lab lab = Lab.create()) {
                Host echo = lab.addPublicHost("echo");
                Router hairpin = lab.addRouter("rh", kind, true);
                Router plain = lab.addRouter("rp", kind, false);
                Host a = lab.addHost(hairpin, "a");
                Host b = lab.addHost(hairpin, "b");
                Host c = lab.addHost(plain, "c");
                Host d = lab.addHost(plain, "d");
                lab.startUdpEcho(echo, ECHO_PORT);
                InetSocketAddress e = new InetSocketAddress(echo.address(), ECHO_PORT);

                InetSocketAddress aPublic = lab.udpProbe(a, PRIVATE_PORT, e).get(0);
                InetSocketAddress bPublic = lab.udpProbe(b, PRIVATE_PORT + 1, e).get(0);
                lab.startUdpEcho(a, PRIVATE_PORT);
                InetSocketAddress bSeenByA = lab.udpProbe(b, PRIVATE_PORT + 1, aPublic).get(0);
                System.out.println(kind + " hairpin: a=" + aPublic + " b=" + bPublic + ", a sees b as " + bSeenByA);
                assertEquals(bPublic, bSeenByA, "hairpinned source is b's public mapping");

                InetSocketAddress cPublic = lab.udpProbe(c, PRIVATE_PORT, e).get(0);
                lab.startUdpEcho(c, PRIVATE_PORT);
                assertThrows(LabException.class, () -> lab.udpProbe(d, PRIVATE_PORT + 1, cPublic),
                        "no hairpin without the flag");
            }
        }
    }

    @Test
    void natFiltersByAddressAndPort() {
        try (Lab lab = Lab.create()) {
            Host echo1 = lab.addPublicHost("echo1");
            Host echo2 = lab.addPublicHost("echo2");
            Router router = lab.addRouter("r", NatKind.EIM_PORT_PRESERVING);
            Host a = lab.addHost(router, "a");
            BackgroundProcess echo = lab.startUdpEcho(echo1, ECHO_PORT);
            InetSocketAddress mapped = lab.udpProbe(a, PRIVATE_PORT, new InetSocketAddress(echo1.address(), ECHO_PORT)).get(0);
            lab.startUdpEcho(a, PRIVATE_PORT);
            // the mapping exists and a answers on it, yet only echo1:ECHO_PORT may use it
            assertThrows(LabException.class, () -> lab.udpProbe(echo2, ECHO_PORT, mapped), "other address filtered");
            assertThrows(LabException.class, () -> lab.udpProbe(echo1, ECHO_PORT + 1, mapped), "other port filtered");
            echo.close();
            assertEquals(new InetSocketAddress(echo1.address(), ECHO_PORT), lab.udpProbe(echo1, ECHO_PORT, mapped).get(0),
                    "the endpoint a talked to gets through");
        }
    }

    @Test
    void fullConeNatLetsAnySenderInThroughAMappingAndSwitchesBack() {
        try (Lab lab = Lab.create()) {
            Host echo = lab.addPublicHost("echo");
            Host stranger = lab.addPublicHost("x");
            Router router = lab.addRouter("r", NatKind.SYMMETRIC);
            Host a = lab.addHost(router, "a");
            lab.startUdpEcho(echo, ECHO_PORT);
            InetSocketAddress e = new InetSocketAddress(echo.address(), ECHO_PORT);
            lab.setNatKind(router, NatKind.FULL_CONE);
            InetSocketAddress mapped = lab.udpProbe(a, PRIVATE_PORT, e).get(0);
            assertEquals(new InetSocketAddress(router.publicAddress(), PRIVATE_PORT), mapped, "port-preserving mapping");
            BackgroundProcess onA = lab.startUdpEcho(a, PRIVATE_PORT);
            // Nobody behind the NAT ever sent to the stranger, from any port: it gets in all the same.
            InetSocketAddress strangerSeen = lab.udpProbe(stranger, ECHO_PORT + 1, mapped).get(0);
            System.out.println("FULL_CONE " + mapped + ": a stranger got in, a saw it as " + strangerSeen);
            assertEquals(new InetSocketAddress(stranger.address(), ECHO_PORT + 1), strangerSeen,
                    "endpoint-independent filtering, and a's answer leaves from the mapping");
            assertThrows(LabException.class, () -> lab.udpProbe(stranger, ECHO_PORT + 2,
                    new InetSocketAddress(router.publicAddress(), PRIVATE_PORT + 1)), "an unmapped port stays closed");

            onA.close();
            lab.setNatKind(router, NatKind.SYMMETRIC);
            lab.flushConntrack(router);
            lab.startUdpEcho(a, PRIVATE_PORT);
            assertThrows(LabException.class, () -> lab.udpProbe(stranger, ECHO_PORT + 3, mapped),
                    "back to filtering by address and port");
        }
    }

    @Test
    void lossDropsPacketsAndCanBeLifted() throws Exception {
        try (Lab lab = Lab.create()) {
            Host echo = lab.addPublicHost("echo");
            Router router = lab.addRouter("r", NatKind.EIM_PORT_PRESERVING);
            Host a = lab.addHost(router, "a");
            lab.startUdpEcho(echo, ECHO_PORT);
            InetSocketAddress e = new InetSocketAddress(echo.address(), ECHO_PORT);
            lab.setLoss(router, 100);
            assertThrows(LabException.class, () -> lab.udpProbe(a, PRIVATE_PORT, e));
            lab.setLoss(router, 0);
            assertEquals(router.publicAddress(), lab.udpProbe(a, PRIVATE_PORT, e).get(0).getAddress());
            lab.setInternetLoss(100);
            assertThrows(LabException.class, () -> lab.udpProbe(a, PRIVATE_PORT, e), "the internet drops everything");
            assertFalse(lab.canPing(router, echo.address()), "nor pings across it");
            assertTrue(lab.canPing(a, InetAddress.getByName("100.64." + router.lanIndex() + ".1")), "the LAN is not the internet");
            lab.setInternetLoss(0);
            assertEquals(router.publicAddress(), lab.udpProbe(a, PRIVATE_PORT, e).get(0).getAddress());
        }
    }

    /**
     * A home router's IPv6: a LAN host keeps its own address and port (no NAT) and the internet
     * reaches it only with replies to a flow it started, from exactly the address and port it
     * sent to; an open router lets everything in. The same host's IPv4 is still NATed.
     */
    @Test
    void ipv6IsRoutedWithoutNatThroughAStatefulFirewall() {
        try (Lab lab = Lab.create()) {
            Host echo1 = lab.addPublicHost("echo1");
            Host echo2 = lab.addPublicHost("echo2");
            Router firewalled = lab.router("rfw").ipv6(Ipv6Lan.FIREWALLED).add();
            Router open = lab.router("ropen").ipv6(Ipv6Lan.OPEN).add();
            Host a = lab.addHost(firewalled, "a");
            Host b = lab.addHost(open, "b");
            assertTrue(echo1.address4().isPresent() && echo1.address6().isPresent(), "public hosts are dual-stack");
            InetAddress a6 = a.address6().orElseThrow();
            InetAddress b6 = b.address6().orElseThrow();
            assertTrue(firewalled.lanPrefix6().orElseThrow().startsWith("fd64:" + lab.id() + ":"), firewalled.lanPrefix6().get());
            InetSocketAddress atA = new InetSocketAddress(a6, PRIVATE_PORT);
            InetSocketAddress e1 = new InetSocketAddress(echo1.address6().orElseThrow(), ECHO_PORT);

            assertTrue(lab.canPing(a, echo1.address6().orElseThrow()), "out: allowed");
            assertFalse(lab.canPing(echo1, a6), "in: unsolicited, dropped");
            assertTrue(lab.canPing(echo1, b6), "in: the open router forwards it");

            BackgroundProcess echoOnA = lab.startUdpEcho(a, PRIVATE_PORT);
            assertThrows(LabException.class, () -> lab.udpProbe(echo1, ECHO_PORT, atA), "blocked before a sent anything");
            echoOnA.close();
            BackgroundProcess echoOnE1 = lab.startUdpEcho(echo1, ECHO_PORT);
            assertEquals(atA, lab.udpProbe(a, PRIVATE_PORT, e1).get(0), "a's own address and port: no NAT");
            echoOnE1.close();
            lab.startUdpEcho(a, PRIVATE_PORT);
            assertEquals(e1, lab.udpProbe(echo1, ECHO_PORT, atA).get(0), "the reply direction of a's flow gets in");
            assertThrows(LabException.class, () -> lab.udpProbe(echo2, ECHO_PORT, atA), "other address filtered");
            assertThrows(LabException.class, () -> lab.udpProbe(echo1, ECHO_PORT + 1, atA), "other port filtered");

            lab.startUdpEcho(b, PRIVATE_PORT);
            InetSocketAddress e2 = new InetSocketAddress(echo2.address6().orElseThrow(), ECHO_PORT);
            assertEquals(e2, lab.udpProbe(echo2, ECHO_PORT, new InetSocketAddress(b6, PRIVATE_PORT)).get(0),
                    "the open LAN takes unsolicited UDP");

            lab.startUdpEcho(echo2, ECHO_PORT + 1);
            InetSocketAddress e2v4 = new InetSocketAddress(echo2.address4().orElseThrow(), ECHO_PORT + 1);
            assertEquals(new InetSocketAddress(firewalled.publicAddress(), PRIVATE_PORT + 1),
                    lab.udpProbe(a, PRIVATE_PORT + 1, e2v4).get(0), "IPv4 of the same host is NATed");
        }
    }

    /**
     * IPv6-only hosts and routers have no IPv4 address or route, reach everything over IPv6, and
     * two WireGuard peers behind two firewalled routers (one IPv6-only) connect over IPv6 with
     * pre-written endpoints: each side's first handshake opens its own firewall for the other's.
     */
    @Test
    void ipv6OnlyHostsAndRoutersAndWireGuardOverIpv6() {
        try (Lab lab = Lab.create()) {
            Host p6 = lab.addPublicHost("p6", IpStack.IPV6_ONLY);
            Host dual = lab.addPublicHost("dual");
            Router r6 = lab.router("r6").ipv6Only().add();
            Router rd = lab.router("rd").ipv6(Ipv6Lan.FIREWALLED).add();
            Host c = lab.addHost(r6, "c");
            Host d = lab.addHost(rd, "d");
            assertEquals(IpStack.IPV6_ONLY, r6.stack());
            assertEquals(Ipv6Lan.FIREWALLED, r6.ipv6Lan());
            assertThrows(IllegalStateException.class, r6::publicAddress);
            assertThrows(IllegalStateException.class, r6::natKind);
            assertTrue(c.address4().isEmpty() && p6.address4().isEmpty());
            for (Node n : List.of(p6, r6, c)) {
                assertEquals("", lab.exec(n, "ip", "-4", "-o", "addr", "show", "scope", "global").stdout(), n + " has IPv4");
                assertEquals("", lab.exec(n, "ip", "-4", "route", "show").stdout(), n + " has IPv4 routes");
            }
            assertFalse(lab.canPing(c, dual.address4().orElseThrow()), "no IPv4");
            assertTrue(lab.canPing(c, p6.address6().orElseThrow()));
            assertTrue(lab.canPing(c, dual.address6().orElseThrow()));
            assertTrue(lab.canPing(p6, dual.address6().orElseThrow()));
            lab.startUdpEcho(p6, ECHO_PORT);
            assertEquals(new InetSocketAddress(c.address6().orElseThrow(), PRIVATE_PORT),
                    lab.udpProbe(c, PRIVATE_PORT, new InetSocketAddress(p6.address6().orElseThrow(), ECHO_PORT)).get(0));

            WgNode wc = lab.addWireGuard(c, 51820);
            WgNode wd = lab.addWireGuard(d, 51820);
            wc.addPeer(wd, wd.endpoint6().orElseThrow(), 25);
            wd.addPeer(wc, wc.endpoint6().orElseThrow(), 25);
            assertTrue(wc.waitForHandshake(wd, Duration.ofSeconds(30)), () -> "no handshake:\n" + wc.show() + "\n" + wd.show());
            assertTrue(wd.waitForHandshake(wc, Duration.ofSeconds(5)));
            assertTrue(wc.ping(wd.tunnelAddress()), "c pings d through the tunnel");
            assertTrue(wd.ping(wc.tunnelAddress()), "d pings c through the tunnel");
            assertEquals(wd.endpoint6().orElseThrow(), wc.endpoint(wd).orElseThrow());
            assertEquals(wc.endpoint6().orElseThrow(), wd.endpoint(wc).orElseThrow());
        }
    }

    @Test
    void wireGuardPeersWithPreconfiguredEndpointsConnectThroughTwoNats() {
        try (Lab lab = Lab.create()) {
            Router ra = lab.addRouter("ra", NatKind.EIM_PORT_PRESERVING);
            Router rb = lab.addRouter("rb", NatKind.EIM_PORT_PRESERVING);
            WgNode a = lab.addWireGuard(lab.addHost(ra, "a"), 51820);
            WgNode b = lab.addWireGuard(lab.addHost(rb, "b"), 51820);
            a.addPeer(b, true, 25);
            b.addPeer(a, true, 25);

            assertTrue(a.waitForHandshake(b, Duration.ofSeconds(30)), () -> "no handshake:\n" + a.show() + "\n" + b.show());
            assertTrue(b.waitForHandshake(a, Duration.ofSeconds(5)));
            assertTrue(a.ping(b.tunnelAddress()), "a pings b through the tunnel");
            assertTrue(b.ping(a.tunnelAddress()), "b pings a through the tunnel");
            assertEquals(new InetSocketAddress(rb.publicAddress(), 51820), a.endpoint(b).orElseThrow());
            assertEquals(new InetSocketAddress(ra.publicAddress(), 51820), b.endpoint(a).orElseThrow());
            System.out.println("WireGuard through two NATs:\n" + a.show() + "\n" + b.show());
        }
    }

    @Test
    void wireGuardWithoutEndpointsStaysSilent() {
        try (Lab lab = Lab.create()) {
            Router ra = lab.addRouter("ra", NatKind.EIM_PORT_PRESERVING);
            Router rb = lab.addRouter("rb", NatKind.EIM_PORT_PRESERVING);
            WgNode a = lab.addWireGuard(lab.addHost(ra, "a"), 51820);
            WgNode b = lab.addWireGuard(lab.addHost(rb, "b"), 51820);
            a.addPeer(b, false, 25);
            b.addPeer(a, false, 25);
            // without endpoints neither side can start: the baseline natpunch has to fix
            assertFalse(a.ping(b.tunnelAddress()));
            assertTrue(a.latestHandshake(b).isEmpty());
        }
    }

    /**
     * A host moved to another router gets that LAN's addresses and routes; its wireguard-go keeps
     * running, and once it forgets its old source address ({@link WgNode#resetSourceAddresses()})
     * the public peer roams to the new NAT mapping when the keepalives arrive from it.
     */
    @Test
    void movedHostTakesItsRunningWireGuardToTheNewNat() {
        try (Lab lab = Lab.create()) {
            Host pubHost = lab.addPublicHost("pub");
            Router ra = lab.addRouter("ra", NatKind.EIM_PORT_PRESERVING);
            Router rb = lab.router("rb").nat(NatKind.EIM_PORT_CHANGING).ipv6(Ipv6Lan.FIREWALLED).add();
            Host a = lab.addHost(ra, "a");
            WgNode pub = lab.addWireGuard(pubHost, 51820);
            WgNode wa = lab.addWireGuard(a, 51820);
            wa.addPeer(pub, true, 1);
            pub.addPeer(wa, false, 0);
            assertTrue(wa.waitForHandshake(pub, Duration.ofSeconds(30)), () -> wa.show() + "\n" + pub.show());
            assertEquals(new InetSocketAddress(ra.publicAddress(), 51820), pub.endpoint(wa).orElseThrow());
            long wgPid = wa.process().pid();

            lab.moveHost(a, rb);
            assertEquals(rb, a.router().orElseThrow());
            assertEquals("100.64." + rb.lanIndex() + ".2", a.address().getHostAddress());
            assertTrue(inPrefix64(a.address6().orElseThrow(), rb.lanPrefix6().orElseThrow()), () -> a.address6() + " in " + rb.lanPrefix6());
            String addresses = lab.exec(a, "ip", "-o", "addr", "show", "dev", "eth0").stdout();
            assertTrue(addresses.contains(a.address().getHostAddress() + "/24") && !addresses.contains("100.64." + ra.lanIndex() + "."), addresses);
            assertEquals("", lab.exec(ra, "ip", "-o", "link", "show", "master", "lan").stdout(), "a's old port is gone");
            wa.resetSourceAddresses();
            assertEquals(new InetSocketAddress(pubHost.address(), 51820), wa.endpoint(pub).orElseThrow(), "endpoint kept");

            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!pub.endpoint(wa).map(e -> e.getAddress().equals(rb.publicAddress())).orElse(false)) {
                assertTrue(System.nanoTime() < deadline, () -> "no roaming:\n" + pub.show());
                sleep(Duration.ofMillis(200));
            }
            int port = pub.endpoint(wa).orElseThrow().getPort();
            assertTrue(port >= Lab.PORT_CHANGING_FIRST && port <= Lab.PORT_CHANGING_LAST, "rb's mapping: " + port);
            assertTrue(pub.ping(wa.tunnelAddress()), "the tunnel follows a");
            assertTrue(wa.process().isAlive());
            assertEquals(wgPid, wa.process().pid());
        }
    }

    /** A pulled cable silences a host or a whole router until it is plugged back in. */
    @Test
    void disconnectedNodesAreSilentUntilReconnected() {
        try (Lab lab = Lab.create()) {
            Host echo = lab.addPublicHost("echo");
            Router router = lab.addRouter("r", NatKind.EIM_PORT_PRESERVING);
            Host a = lab.addHost(router, "a");
            lab.startUdpEcho(echo, ECHO_PORT);
            InetSocketAddress e = new InetSocketAddress(echo.address(), ECHO_PORT);
            InetSocketAddress mapped = new InetSocketAddress(router.publicAddress(), PRIVATE_PORT);
            assertEquals(mapped, lab.udpProbe(a, PRIVATE_PORT, e).get(0));
            for (Node cut : List.of(echo, router, a)) {
                lab.disconnect(cut);
                assertThrows(LabException.class, () -> lab.udpProbe(a, PRIVATE_PORT, e), cut + " disconnected");
                lab.reconnect(cut);
                assertEquals(mapped, lab.udpProbe(a, PRIVATE_PORT, e).get(0), cut + " reconnected");
            }
        }
    }

    /**
     * A paused process keeps its socket but answers only once resumed; a killed one is gone at
     * once. CPU time is read from /proc: it grows for a busy process and not for a sleeping one.
     */
    @Test
    void processesCanBePausedResumedKilledAndTheirCpuTimeRead() {
        try (Lab lab = Lab.create()) {
            Host echoHost = lab.addPublicHost("echo");
            Host a = lab.addPublicHost("a");
            BackgroundProcess echo = lab.startUdpEcho(echoHost, ECHO_PORT);
            InetSocketAddress e = new InetSocketAddress(echoHost.address(), ECHO_PORT);
            echo.pause();
            assertThrows(LabException.class, () -> lab.udpProbe(a, PRIVATE_PORT, e), "paused");
            echo.resume();
            assertEquals(a.address(), lab.udpProbe(a, PRIVATE_PORT, e).get(0).getAddress(), "resumed");
            assertTrue(echo.cpuTime().orElseThrow().compareTo(Duration.ZERO) > 0, "a JVM that started used CPU");
            echo.kill();
            assertFalse(echo.isAlive());
            assertEquals(137, echo.awaitExit(Duration.ZERO).getAsInt(), "128 + SIGKILL");
            assertTrue(echo.cpuTime().isEmpty(), "gone from /proc");
            assertThrows(LabException.class, () -> lab.udpProbe(a, PRIVATE_PORT, e), "killed");

            BackgroundProcess busy = lab.start(a, "sh", "-c", "while :; do :; done");
            BackgroundProcess idle = lab.start(a, "sleep", "600");
            sleep(Duration.ofMillis(300));
            Duration busy0 = busy.cpuTime().orElseThrow();
            Duration idle0 = idle.cpuTime().orElseThrow();
            sleep(Duration.ofSeconds(1));
            assertTrue(busy.cpuTime().orElseThrow().compareTo(busy0) > 0, "busy: " + busy0 + " -> " + busy.cpuTime());
            assertEquals(idle0, idle.cpuTime().orElseThrow(), "sleeping");
        }
    }

    /** A rebooted port-changing NAT maps the same private endpoints to new public ports. */
    @Test
    void rebootedNatForgetsItsMappingsAndMapsAnew() {
        try (Lab lab = Lab.create()) {
            Host echo = lab.addPublicHost("echo");
            Router router = lab.addRouter("r", NatKind.EIM_PORT_CHANGING);
            Host b = lab.addHost(router, "b");
            lab.startUdpEcho(echo, ECHO_PORT);
            InetSocketAddress e = new InetSocketAddress(echo.address(), ECHO_PORT);
            List<InetSocketAddress> before = List.of(lab.udpProbe(b, PRIVATE_PORT, e).get(0), lab.udpProbe(b, PRIVATE_PORT + 1, e).get(0));
            assertEquals(before.get(0), lab.udpProbe(b, PRIVATE_PORT, e).get(0), "stable until the reboot");
            lab.rebootNat(router);
            // only UDP: the router's own IGMP reports to 224.0.0.22 make conntrack entries at any time
            assertEquals("", lab.exec(router, "conntrack", "-L", "-p", "udp").stdout(), "no UDP mapping left");
            List<InetSocketAddress> after = List.of(lab.udpProbe(b, PRIVATE_PORT, e).get(0), lab.udpProbe(b, PRIVATE_PORT + 1, e).get(0));
            System.out.println("port-changing NAT reboot: " + before + " -> " + after);
            assertNotEquals(before, after);
            for (InetSocketAddress m : after) {
                assertEquals(router.publicAddress(), m.getAddress());
                assertTrue(m.getPort() >= Lab.PORT_CHANGING_FIRST && m.getPort() <= Lab.PORT_CHANGING_LAST);
            }
            assertEquals(NatKind.EIM_PORT_CHANGING, router.natKind());
        }
    }

    @Test
    void closeLeavesNothingBehind() throws Exception {
        Lab lab = Lab.create();
        String id = lab.id();
        WgNode wg;
        BackgroundProcess sleeper;
        try {
            Router r = lab.addRouter("r", NatKind.EIM_PORT_PRESERVING);
            wg = lab.addWireGuard(lab.addHost(r, "a"), 51820);
            sleeper = lab.start(lab.addPublicHost("p"), "sh", "-c", "sleep 600 & sleep 600");
            assertEquals(4, lab.namespaces().size(), "inet, r, a, p: " + lab.namespaces());
            assertTrue(Files.exists(socket(wg.interfaceName())));
            assertTrue(wg.process().isAlive());
        } finally {
            lab.close();
        }
        assertEquals(List.of(), lab.namespaces());
        assertFalse(wg.process().isAlive(), "wireguard-go killed");
        assertFalse(sleeper.isAlive(), "background process killed");
        assertFalse(Files.exists(socket(wg.interfaceName())), "UAPI socket removed");
        assertTrue(ProcessHandle.allProcesses()
                .noneMatch(p -> p.info().commandLine().orElse("").contains(Lab.PREFIX + id)),
                "no process mentions the lab's interfaces");
        assertTrue(ProcessHandle.allProcesses()
                .noneMatch(p -> p.info().commandLine().orElse("").equals("sleep 600")
                        && p.parent().map(pp -> pp.pid() == sleeper.pid()).orElse(true)),
                "the background process's children died with its group");
    }

    @Test
    void leftoversOfACrashedLabAreRemoved() throws Exception {
        String staleNs = Lab.PREFIX + "-ffff-x";
        Path staleSocket = socket(Lab.PREFIX + "ffffw0");
        run("ip", "netns", "add", staleNs);
        Process inside = new ProcessBuilder("ip", "netns", "exec", staleNs, "sleep", "600").start();
        Files.createDirectories(staleSocket.getParent());
        Files.writeString(staleSocket, "");
        try {
            Lab.cleanupStale();
            assertFalse(run("ip", "netns", "list").contains(staleNs));
            assertFalse(Files.exists(staleSocket));
            assertTrue(inside.waitFor(5, java.util.concurrent.TimeUnit.SECONDS), "process inside was killed");
        } finally {
            inside.destroyForcibly();
            new ProcessBuilder("ip", "netns", "del", staleNs).start().waitFor();
            Files.deleteIfExists(staleSocket);
        }
    }

    /** Compares bytes, not text: the lab ID may start with a zero that the address's text drops. */
    private static boolean inPrefix64(InetAddress address, String prefix) {
        byte[] net;
        try {
            net = InetAddress.getByName(prefix.substring(0, prefix.indexOf('/'))).getAddress();
        } catch (UnknownHostException e) {
            throw new AssertionError(prefix, e);
        }
        return Arrays.equals(address.getAddress(), 0, 8, net, 0, 8);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static Path socket(String ifname) {
        return Path.of("/var/run/wireguard", ifname + ".sock");
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }
}
