package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.fail;

import dev.natpunch.it.MeshScenario.Peer;
import dev.natpunch.it.lab.BackgroundProcess;
import dev.natpunch.it.lab.ExecResult;
import dev.natpunch.it.lab.Lab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Time to mesh (issue 6.3), a benchmark, not a test: the build never runs it (the name does not end
 * in IT); it runs on request, through failsafe so that it gets the lab's class path and the CLI jar:
 *
 * <pre>
 * mvn -o -q -pl src-it -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=TimeToMeshBench [-Dttm.peers=2,4,8,16] [-Dttm.runs=1] [-Dttm.clientOptions="-c -d 1|-c -d 1 --protocol 1"] \
 *     [-Dttm.trace=true]
 * </pre>
 *
 * For each N, N WireGuard peers behind N NATs (port-preserving and port-changing, alternately)
 * are made three times per option set, each time in a fresh lab, and the clock runs from a start
 * instant until all N x (N - 1) directions report a handshake (polled, so it is late by at most
 * one poll of all N interfaces, printed):
 * <ul>
 *   <li><b>pre-configured</b> (the limit): at the instant, every interface gets its peers with
 *       their endpoints (the NAT mappings measured in advance) and keepalive, by {@code wg
 *       addconf} on all N peers in parallel.
 *   <li><b>cold</b>: every interface already has its peers' keys and tunnel addresses but no
 *       endpoint, the server runs, and at the instant all N {@code natpunch client OPTIONS IFACE
 *       SERVER KEY} processes are started at once (JVM start-up included, as a user would see it).
 *   <li><b>warm</b>: the N clients already run, in continuous mode, on interfaces without peers
 *       (each has registered with the server, then 2 s pass), and at the instant every interface gets
 *       its peers without endpoints, by the same {@code wg addconf} in parallel: what a deployed
 *       mesh sees when peers are added, without N JVM starts on the machine's cores. Measured
 *       only for option sets that run continuously ({@code -c}).
 * </ul>
 * The datagrams each peer's site sent to the server in the cold case are counted with nftables
 * ({@link MeshScenario#countRequests()}). The table goes to stdout and to {@code
 * src-it/target/time-to-mesh.md}. {@code ttm.clientOptions} lists option sets separated by
 * {@code |}, each measured in the same run against the same limit, so that one run compares
 * clients (the jar's default protocol version and {@code --protocol 1}, say). The clients start
 * as a user starts them, by {@code bin/natpunch} (with the class-data archive it makes on first
 * use, made before the first run in a cache directory of the benchmark's own); {@code
 * -Dttm.launcher=java} starts them by plain {@code java -jar natpunch.jar} instead. With {@code
 * ttm.trace=true} each poll reads every interface whole ({@code wg show IFACE dump}, so polls are
 * slower) and {@code src-it/target/time-to-mesh-trace.txt} gets, per natpunch run, when each side
 * first had each endpoint and each handshake, and every client's output (run the clients with
 * {@code -v} for their timestamped steps).
 */
class TimeToMeshBench {
    private static final Duration LIMIT = Duration.ofMinutes(3);
    private static final int KEEPALIVE = 25;
    /** How long the warm case lets the running clients settle after each registered. */
    private static final Duration SETTLE = Duration.ofSeconds(2);
    private static final Pattern REGISTERED = Pattern.compile("^Registered with ");

    private final boolean trace = Boolean.getBoolean("ttm.trace");
    /** Clients start as users start them, by bin/natpunch (default), or by plain java -jar (ttm.launcher=java). */
    private final boolean viaLauncher = !"java".equals(System.getProperty("ttm.launcher", "bin"));
    private final Path launcher = Path.of(System.getProperty("ttm.launcherPath", "../bin/natpunch")).toAbsolutePath();
    /** The launcher's cache directory, with its class-data archive made before the first run. */
    private Path cache;
    private final StringBuilder traceLog = new StringBuilder();

    @Test
    void timeToMesh() throws IOException {
        Lab.assumeAvailable();
        if (viaLauncher) {
            cache = launcherWithArchive();
        }
        try {
            measure();
        } finally {
            if (cache != null) {
                try (var files = Files.walk(cache)) {
                    for (Path f : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        }
    }

    private void measure() throws IOException {
        int[] sizes = Arrays.stream(System.getProperty("ttm.peers", "2,4,8,16").split(","))
                .map(String::strip).mapToInt(Integer::parseInt).toArray();
        int runs = Integer.getInteger("ttm.runs", 1);
        List<String[]> variants = Arrays.stream(System.getProperty("ttm.clientOptions", "-c -d 1").split("\\|"))
                .map(v -> v.strip().split("\\s+")).toList();
        StringBuilder table = new StringBuilder()
                .append(runs).append(runs == 1 ? " run" : " runs").append(" per cell, ").append(Instant.now())
                .append(", load average at the start ").append(loadAverage()).append(", clients started by ")
                .append(viaLauncher ? launcher + " (its class-data archive made beforehand)" : "java -jar").append('\n')
                .append("| N | pre-configured (limit) | natpunch client options | cold: clients start | ratio"
                        + " | warm: clients running | ratio | datagrams to the server per peer (cold)"
                        + " | cores busy: limit, cold, warm |\n")
                .append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (int n : sizes) {
            List<Result> limit = new ArrayList<>();
            List<List<Result>> cold = new ArrayList<>();
            List<List<Result>> warm = new ArrayList<>();
            variants.forEach(v -> {
                cold.add(new ArrayList<>());
                warm.add(new ArrayList<>());
            });
            for (int r = 0; r < runs; r++) {
                limit.add(preconfigured(n));
                System.out.println("N=" + n + " run " + (r + 1) + ": pre-configured " + limit.get(r));
                for (int v = 0; v < variants.size(); v++) {
                    String[] options = variants.get(v);
                    cold.get(v).add(cold(n, options));
                    System.out.println("N=" + n + " run " + (r + 1) + ": cold, natpunch client " + String.join(" ", options)
                            + ": " + cold.get(v).get(r));
                    if (continuous(options)) {
                        warm.get(v).add(warm(n, options));
                        System.out.println("N=" + n + " run " + (r + 1) + ": warm, natpunch client " + String.join(" ", options)
                                + ": " + warm.get(v).get(r));
                    }
                }
            }
            for (int v = 0; v < variants.size(); v++) {
                List<Result> c = cold.get(v);
                List<Result> w = warm.get(v);
                double datagrams = c.stream().mapToLong(Result::datagrams).average().orElse(0) / n;
                table.append("| ").append(n).append(" | ").append(cell(limit)).append(" | `").append(String.join(" ", variants.get(v)))
                        .append("` | ").append(cell(c)).append(" | ").append(ratio(c, limit))
                        .append(" | ").append(w.isEmpty() ? "(not continuous)" : cell(w)).append(" | ")
                        .append(w.isEmpty() ? "" : ratio(w, limit)).append(" | ")
                        .append(String.format("%.1f", datagrams)).append(" | ").append(busyCell(limit)).append(", ")
                        .append(busyCell(c)).append(", ").append(busyCell(w)).append(" |\n");
            }
        }
        table.append("load average at the end ").append(loadAverage()).append('\n');
        System.out.println(table);
        Path out = Path.of("target", "time-to-mesh.md");
        Files.writeString(out, table);
        System.out.println("written to " + out.toAbsolutePath());
        if (trace) {
            Path t = Path.of("target", "time-to-mesh-trace.txt");
            Files.writeString(t, traceLog);
            System.out.println("trace written to " + t.toAbsolutePath());
        }
    }

    /**
     * A fresh cache directory for bin/natpunch in which it has made its class-data archive (its
     * first start makes it in the background), so that every measured start uses it.
     */
    private Path launcherWithArchive() throws IOException {
        Path dir = Files.createTempDirectory("ttm-natpunch-cache",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "--version").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("NATPUNCH_CACHE_DIR", dir.toString());
        pb.environment().remove("NATPUNCH_JAVA_OPTS");
        try {
            if (pb.start().waitFor() != 0) {
                fail(launcher + " --version failed");
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                try (var files = Files.list(dir)) {
                    if (files.anyMatch(f -> f.getFileName().toString().endsWith(".jsa"))
                            && !Files.exists(dir.resolve("training.lock"))) {
                        return dir;
                    }
                }
                if (System.nanoTime() > deadline) {
                    fail(launcher + " made no class-data archive in " + dir + " within 60 s");
                }
                MeshWatch.sleep(Duration.ofMillis(100));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Starts {@code natpunch client OPTIONS IFACE SERVER KEY} in the peer's namespace, as set by ttm.launcher. */
    private BackgroundProcess startClient(MeshScenario s, Peer p, String[] options) {
        if (!viaLauncher) {
            return s.startClient(p, options);
        }
        List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "client"));
        cmd.addAll(Arrays.asList(options));
        cmd.addAll(List.of(p.wg().interfaceName(), s.serverEndpoint(), s.serverPublicKey()));
        return s.lab().start(p.wg().host(), Map.of("NATPUNCH_CACHE_DIR", cache.toString()), cmd.toArray(String[]::new));
    }

    private static boolean continuous(String[] options) {
        return Arrays.stream(options).anyMatch(o -> o.equals("--continuous") || o.matches("-[a-zA-Z]*c[a-zA-Z]*"));
    }

    /**
     * How long until the full mesh, the poll's granularity then, and the datagrams all peers sent
     * to the server (nftables counters, so any protocol version counts alike).
     */
    record Result(Duration time, Duration poll, long datagrams, double coresBusy) {
        @Override
        public String toString() {
            return seconds(time) + " (poll " + poll.toMillis() + " ms, " + String.format("%.2f", coresBusy) + " cores busy"
                    + (datagrams > 0 ? ", " + datagrams + " datagrams to the server" : "") + ")";
        }
    }

    private Result preconfigured(int n) {
        try (MeshScenario s = MeshScenario.create()) {
            List<Peer> peers = s.peersBehindNats(n);
            return addPeersAtOnce(s, peers, true, "pre-configured");
        }
    }

    private Result cold(int n, String[] options) {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            List<Peer> peers = s.peersBehindNats(n);
            MeshScenario.mesh(peers.toArray(Peer[]::new));
            s.countRequests();
            Instant start = Instant.now();
            long t0 = System.nanoTime();
            long busy0 = busyTicks();
            List<BackgroundProcess> clients = new ArrayList<>();
            for (Peer p : peers) {
                clients.add(startClient(s, p, options));
            }
            Result r = awaitMesh(s, peers, start, t0, busy0, "cold " + String.join(" ", options), clients);
            return new Result(r.time(), r.poll(), peers.stream().mapToLong(s::requestsFrom).sum(), r.coresBusy());
        }
    }

    private Result warm(int n, String[] options) {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            List<Peer> peers = s.peersBehindNats(n);
            List<BackgroundProcess> clients = new ArrayList<>();
            for (Peer p : peers) {
                clients.add(startClient(s, p, options));
            }
            for (BackgroundProcess c : clients) {
                if (c.awaitLine(REGISTERED, MeshScenario.STARTUP).isEmpty()) {
                    fail(c + " never registered while waiting for peers:\n" + c.output());
                }
            }
            MeshWatch.sleep(SETTLE);
            return addPeersAtOnce(s, peers, false, "warm " + String.join(" ", options), clients);
        }
    }

    private Result addPeersAtOnce(MeshScenario s, List<Peer> peers, boolean withEndpoints, String what) {
        return addPeersAtOnce(s, peers, withEndpoints, what, List.of());
    }

    /**
     * At the start instant, gives every interface all the others as peers, by {@code wg addconf}
     * on all of them in parallel: with endpoints and keepalive (the pre-configured mesh) or with
     * keys and tunnel addresses only (for running clients to find); then waits for the mesh.
     */
    private Result addPeersAtOnce(MeshScenario s, List<Peer> peers, boolean withEndpoints, String what,
                                  List<BackgroundProcess> clients) {
        List<String> configs = new ArrayList<>();
        for (Peer p : peers) {
            StringBuilder conf = new StringBuilder();
            for (Peer q : peers) {
                if (q != p) {
                    conf.append("[Peer]\nPublicKey = ").append(q.key())
                            .append("\nAllowedIPs = ").append(q.wg().tunnelAddress().getHostAddress()).append("/32\n");
                    if (withEndpoints) {
                        conf.append("Endpoint = ").append(Lab.formatEndpoint(q.mapping()))
                                .append("\nPersistentKeepalive = ").append(KEEPALIVE).append('\n');
                    }
                    conf.append('\n');
                }
            }
            configs.add(conf.toString());
        }
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        long busy0 = busyTicks();
        List<Thread> appliers = new ArrayList<>();
        for (int i = 0; i < peers.size(); i++) {
            Peer p = peers.get(i);
            String conf = configs.get(i);
            Thread t = new Thread(() -> {
                ExecResult r = s.lab().execWithInput(p.wg().host(), Duration.ofSeconds(30), conf,
                        "wg", "addconf", p.wg().interfaceName(), "/dev/stdin");
                if (!r.ok()) {
                    throw new IllegalStateException("wg addconf on " + p.wg() + ": " + r);
                }
            });
            t.start();
            appliers.add(t);
        }
        join(appliers);
        return awaitMesh(s, peers, start, t0, busy0, what, clients);
    }

    /**
     * Polls every interface until each has a handshake with every other, pausing only 50 ms
     * between rounds ({@link MeshScenario#awaitFullMesh}'s pause is too coarse for the limit's
     * few tens of ms) so that the polling does not take the CPU the clients need. With tracing,
     * also notes when each side first had each endpoint and each handshake.
     */
    private Result awaitMesh(MeshScenario s, List<Peer> peers, Instant start, long t0, long busy0, String what,
                             List<BackgroundProcess> clients) {
        long deadline = t0 + LIMIT.toNanos();
        long pollNanos = 0;
        Map<String, Long> firstSeen = new java.util.TreeMap<>();
        while (true) {
            long before = System.nanoTime();
            boolean done = true;
            for (Peer p : peers) {
                Map<String, Instant> handshakes = trace ? traced(p, peers, firstSeen, before - t0) : p.wg().latestHandshakes();
                for (Peer q : peers) {
                    if (q != p && !handshakes.containsKey(q.key())) {
                        done = false;
                        break;
                    }
                }
                if (!done && !trace) {
                    break;
                }
            }
            long now = System.nanoTime();
            pollNanos = Math.max(pollNanos, now - before);
            if (done) {
                double busy = (busyTicks() - busy0) / (double) CLOCK_TICKS / ((now - t0) / 1e9);
                Result r = new Result(Duration.ofNanos(now - t0), Duration.ofNanos(pollNanos), 0, busy);
                if (trace) {
                    writeTrace(what, peers, start, r, firstSeen, clients);
                }
                return r;
            }
            if (now > deadline) {
                fail("no full mesh of " + peers.size() + " within " + LIMIT + " of " + start + "\n" + s.diagnostics());
            }
            MeshWatch.sleep(Duration.ofMillis(50));
        }
    }

    /** One interface's handshakes, noting the first sight of each endpoint and handshake (ms since the start). */
    private static Map<String, Instant> traced(Peer p, List<Peer> peers, Map<String, Long> firstSeen, long sinceStart) {
        Map<String, Instant> handshakes = new java.util.HashMap<>();
        String[] lines = p.wg().show("dump").split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split("\t");
            if (f.length < 8) {
                continue;
            }
            String to = peers.stream().filter(q -> q.key().equals(f[0])).map(q -> q.wg().host().name()).findFirst().orElse(f[0]);
            String direction = p.wg().host().name() + " -> " + to;
            if (!f[2].equals("(none)")) {
                firstSeen.putIfAbsent(direction + ": endpoint " + f[2], sinceStart);
            }
            if (!f[4].equals("0")) {
                handshakes.put(f[0], Instant.ofEpochSecond(Long.parseLong(f[4])));
                firstSeen.putIfAbsent(direction + ": handshake", sinceStart);
            }
        }
        return handshakes;
    }

    private void writeTrace(String what, List<Peer> peers, Instant start, Result r, Map<String, Long> firstSeen,
                            List<BackgroundProcess> clients) {
        traceLog.append("==== ").append(what).append(", N=").append(peers.size()).append(", start ").append(start)
                .append(": full mesh after ").append(r).append('\n');
        firstSeen.entrySet().stream().sorted(Map.Entry.comparingByValue())
                .forEach(e -> traceLog.append(String.format("%7.3f s  %s%n", e.getValue() / 1e9, e.getKey())));
        for (int i = 0; i < clients.size(); i++) {
            traceLog.append("---- client on ").append(peers.get(i).wg().host().name()).append('\n')
                    .append(clients.get(i).output());
        }
    }

    /** The kernel's clock ticks per second for /proc/stat (USER_HZ, 100 on Linux). */
    private static final int CLOCK_TICKS = 100;

    /**
     * CPU time the whole machine spent busy so far (user, nice, system, irq, softirq, steal of
     * /proc/stat's first line), in clock ticks: divided by the elapsed time it tells how many of
     * the cores everything together kept busy, the lab's own polling included.
     */
    private static long busyTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(f[i]);
            }
            return busy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String busyCell(List<Result> results) {
        List<Double> sorted = results.stream().map(Result::coresBusy).sorted().toList();
        return sorted.isEmpty() ? "" : String.format("%.2f", sorted.get(sorted.size() / 2));
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void join(List<Thread> threads) {
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UncheckedIOException(new IOException("interrupted", e));
            }
        }
    }

    private static Duration median(List<Result> results) {
        List<Duration> sorted = results.stream().map(Result::time).sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    private static String ratio(List<Result> results, List<Result> limit) {
        return String.format("%.1f", (double) median(results).toMillis() / median(limit).toMillis());
    }

    private static String cell(List<Result> results) {
        if (results.size() == 1) {
            return seconds(results.get(0).time());
        }
        List<Duration> sorted = results.stream().map(Result::time).sorted().toList();
        return seconds(median(results)) + " (" + seconds(sorted.get(0)) + " to " + seconds(sorted.get(sorted.size() - 1)) + ")";
    }

    private static String seconds(Duration d) {
        return String.format("%.2f s", d.toMillis() / 1000.0);
    }
}
