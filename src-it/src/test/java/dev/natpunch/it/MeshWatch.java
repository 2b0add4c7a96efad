package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.ExecResult;
import dev.natpunch.it.lab.LabException;
import dev.natpunch.it.lab.Router;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Watches a running mesh from the outside, independently of natpunch: a background thread
 * samples every peer's WireGuard endpoints ({@code wg show IFACE endpoints}) and every router's
 * NAT mappings of its peer's listen port ({@code conntrack -L}) a few times a second, so that a
 * test can check afterwards that no endpoint was ever set to anything but a real mapping of that
 * peer, and wait for handshakes newer than a fault. It also keeps data flowing, one ping a second
 * from every peer to every other through the tunnel, as a mesh in use does: WireGuard starts a new
 * handshake when data it sent gets no answer, not when only keepalives go unanswered, so without
 * traffic a repaired path would show no handshake for minutes.
 */
final class MeshWatch implements AutoCloseable {
    private static final Duration PERIOD = Duration.ofMillis(300);
    private static final Duration POLL = Duration.ofMillis(250);
    /** The reply tuple of a conntrack line: where the internet sends to reach the flow's origin. */
    private static final Pattern FLOW = Pattern.compile("src=(\\S+) dst=(\\S+) sport=\\d+ dport=(\\d+) .*?"
            + "src=\\S+ dst=(\\S+) sport=\\d+ dport=(\\d+)");

    private final MeshScenario scenario;
    private final List<Peer> peers;
    private final Map<Peer, Set<InetSocketAddress>> mappings = new ConcurrentHashMap<>();
    /** observer -> target -> every endpoint seen. */
    private final Map<Peer, Map<Peer, Set<InetSocketAddress>>> seen = new ConcurrentHashMap<>();
    /** NAT flows from a peer's listen port but not from its current address: not WireGuard's. */
    private final Set<String> strays = ConcurrentHashMap.newKeySet();
    private final List<String> samplingErrors = new CopyOnWriteArrayList<>();
    private final List<BackgroundProcess> traffic = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopped;
    private volatile int rounds;

    private MeshWatch(MeshScenario scenario) {
        this.scenario = scenario;
        this.peers = scenario.peers();
        for (Peer p : peers) {
            mappings.put(p, ConcurrentHashMap.newKeySet());
            if (p.router().isEmpty()) {
                mappings.get(p).add(p.mapping());
            }
            // IPv6 is not translated: the host's own address and port is what everyone should use
            p.wg().endpoint6().ifPresent(mappings.get(p)::add);
            Map<Peer, Set<InetSocketAddress>> bySeen = new ConcurrentHashMap<>();
            for (Peer q : peers) {
                if (q != p) {
                    bySeen.put(q, ConcurrentHashMap.newKeySet());
                }
            }
            seen.put(p, bySeen);
        }
        this.thread = new Thread(this::run, "mesh-watch");
        this.thread.setDaemon(true);
    }

    /** Starts watching every peer the scenario has now. */
    static MeshWatch start(MeshScenario scenario) {
        MeshWatch w = new MeshWatch(scenario);
        for (Peer[] pair : w.allPairs()) {
            w.traffic.add(scenario.lab().start(pair[0].wg().host(),
                    "ping", "-n", "-q", "-i", "1", pair[1].wg().tunnelAddress().getHostAddress()));
        }
        w.sample();
        w.thread.start();
        return w;
    }

    private void run() {
        while (!stopped) {
            try {
                sample();
                Thread.sleep(PERIOD.toMillis());
            } catch (LabException e) {
                samplingErrors.add(e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static InetAddress literal(String ip) {
        try {
            return InetAddress.getByName(ip);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(ip, e);
        }
    }

    /** One round; mappings first, so that an endpoint copied from a new mapping finds it recorded. */
    private void sample() {
        for (Peer p : peers) {
            // the router of now: a host the lab moved has its new NAT's mappings recorded too
            p.wg().host().router().ifPresent(r -> recordMappings(p, r));
        }
        for (Peer observer : peers) {
            try {
                Map<String, InetSocketAddress> endpoints = observer.wg().endpoints();
                for (Peer target : peers) {
                    InetSocketAddress e = endpoints.get(target.key());
                    if (target != observer && e != null) {
                        seen.get(observer).get(target).add(e);
                    }
                }
            } catch (LabException e) {
                samplingErrors.add(observer.wg() + ": " + e.getMessage());
            }
        }
        rounds++;
    }

    private void recordMappings(Peer p, Router router) {
        if (p.wg().host().address4().isEmpty()) {
            return;
        }
        InetAddress host = p.wg().host().address4().get();
        ExecResult r = scenario.lab().exec(router, "conntrack", "-L", "-p", "udp",
                "--sport", Integer.toString(p.wg().listenPort()));
        if (!r.ok()) {
            samplingErrors.add(router + ": " + r);
            return;
        }
        for (String line : r.stdout().split("\n")) {
            Matcher m = FLOW.matcher(line);
            if (!m.find()) {
                continue;
            }
            InetSocketAddress mapped = new InetSocketAddress(literal(m.group(4)), Integer.parseInt(m.group(5)));
            if (literal(m.group(1)).equals(host)) {
                mappings.get(p).add(mapped);
            } else if (!m.group(1).equals(m.group(4))) {
                strays.add(router.name() + ": " + m.group(1) + ":" + p.wg().listenPort() + " -> " + m.group(2) + ":"
                        + m.group(3) + " mapped to " + mapped);
            }
        }
    }

    /** Every public address:port the peer's NAT has mapped its listen port to so far. */
    Set<InetSocketAddress> mappings(Peer p) {
        return Set.copyOf(mappings.get(p));
    }

    /**
     * Fails unless every endpoint any peer ever had for another was one of that peer's real
     * mappings (stale ones included: a mapping that existed before a fault was true then).
     */
    void assertNoWrongEndpoint() {
        sample();
        assertTrue(rounds > 10, "too few samples: " + rounds);
        assertTrue(samplingErrors.isEmpty(), () -> "sampling failed: " + samplingErrors);
        List<String> wrong = new ArrayList<>();
        for (Peer observer : peers) {
            for (Map.Entry<Peer, Set<InetSocketAddress>> e : seen.get(observer).entrySet()) {
                for (InetSocketAddress endpoint : e.getValue()) {
                    if (!mappings.get(e.getKey()).contains(endpoint)) {
                        wrong.add(observer.wg() + " had " + endpoint + " for " + e.getKey().wg()
                                + ", whose mappings were " + mappings.get(e.getKey()));
                    }
                }
            }
        }
        assertTrue(wrong.isEmpty(), () -> String.join("\n", wrong) + "\n" + scenario.diagnostics());
    }

    /** What was seen, for the test's output. */
    String summary() {
        StringBuilder sb = new StringBuilder(rounds + " samples");
        if (!strays.isEmpty()) {
            sb.append("\n  flows from a listen port but not from its host's address: ").append(strays);
        }
        for (Peer p : peers) {
            sb.append("\n  ").append(p.wg()).append(" mappings ").append(mappings.get(p));
            for (Map.Entry<Peer, Set<InetSocketAddress>> e : seen.get(p).entrySet()) {
                sb.append("\n    endpoints seen for ").append(e.getKey().wg()).append(": ").append(e.getValue());
            }
        }
        return sb.toString();
    }

    /** Every ordered pair of distinct peers. */
    List<Peer[]> allPairs() {
        List<Peer[]> pairs = new ArrayList<>();
        for (Peer a : peers) {
            for (Peer b : peers) {
                if (a != b) {
                    pairs.add(new Peer[] {a, b});
                }
            }
        }
        return pairs;
    }

    /** The ordered pairs that include {@code p}. */
    List<Peer[]> pairsWith(Peer p) {
        return allPairs().stream().filter(pair -> pair[0] == p || pair[1] == p).toList();
    }

    /**
     * Waits until, for each pair (x, y), x's WireGuard reports a handshake with y at or after
     * {@code since} (whole seconds, as WireGuard reports them), and returns how long that took
     * from {@code since}.
     */
    Duration awaitHandshakes(Instant since, Duration timeout, List<Peer[]> pairs) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, Boolean> done = new LinkedHashMap<>();
        while (true) {
            boolean all = true;
            Map<Peer, Map<String, Instant>> handshakes = new LinkedHashMap<>();
            for (Peer[] pair : pairs) {
                String name = pair[0].wg() + " -> " + pair[1].wg();
                if (done.getOrDefault(name, false)) {
                    continue;
                }
                Instant h = handshakes.computeIfAbsent(pair[0], p -> p.wg().latestHandshakes()).get(pair[1].key());
                boolean ok = h != null && h.getEpochSecond() >= since.getEpochSecond();
                done.put(name, ok);
                all &= ok;
            }
            if (all) {
                return Duration.between(since, Instant.now());
            }
            if (System.nanoTime() > deadline) {
                fail("no handshake since " + since + " within " + timeout + " for "
                        + done.entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey).toList()
                        + "\n" + summary() + "\n" + scenario.diagnostics());
            }
            sleep(POLL);
        }
    }

    /** Sleeps until the next whole second and returns it, so a handshake in that second is after it. */
    static Instant nextSecond() {
        Instant now = Instant.now();
        Instant next = Instant.ofEpochSecond(now.getEpochSecond() + 1);
        sleep(Duration.between(now, next));
        return next;
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(Math.max(0, d.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Override
    public void close() {
        stopped = true;
        traffic.forEach(BackgroundProcess::close);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
