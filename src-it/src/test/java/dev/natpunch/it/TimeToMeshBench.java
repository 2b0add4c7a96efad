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
 *     -Dit.test=TimeToMeshBench [-Dttm.peers=2,4,8,16] [-Dttm.runs=1] [-Dttm.clientOptions="-c -d 1"]
 * </pre>
 *
 * For each N, N WireGuard peers behind N NATs (port-preserving and port-changing, alternately)
 * are made twice, each time in a fresh lab. <b>natpunch</b>: every peer knows every other's key
 * and tunnel address but no endpoint, the server runs, and at the start instant all N {@code
 * natpunch client OPTIONS IFACE SERVER KEY} processes are started at once (JVM start-up
 * included, as a user would see it). <b>pre-configured</b> (the limit): every endpoint is written
 * into the WireGuard configuration beforehand ({@code wg addconf}, the NAT mappings measured in
 * advance), applied on all N peers at the start instant. The clock stops when all N x (N - 1)
 * directions report a handshake (polled, so it is late by at most one poll of all N interfaces,
 * printed). The table goes to stdout and to {@code src-it/target/time-to-mesh.md}. The client
 * options are a property so that the same run measures whatever {@code natpunch client} is.
 */
class TimeToMeshBench {
    private static final Duration LIMIT = Duration.ofMinutes(3);
    private static final int KEEPALIVE = 25;
    private static final Pattern LOOKUP = Pattern.compile(" ==> ");

    @Test
    void timeToMesh() throws IOException {
        Lab.assumeAvailable();
        int[] sizes = Arrays.stream(System.getProperty("ttm.peers", "2,4,8,16").split(","))
                .map(String::strip).mapToInt(Integer::parseInt).toArray();
        int runs = Integer.getInteger("ttm.runs", 1);
        String[] options = System.getProperty("ttm.clientOptions", "-c -d 1").strip().split("\\s+");
        StringBuilder table = new StringBuilder()
                .append("natpunch client options: ").append(String.join(" ", options)).append(", ")
                .append(runs).append(runs == 1 ? " run" : " runs").append(" per cell, ").append(Instant.now()).append('\n')
                .append("| N | pre-configured (limit) | natpunch client | ratio | server lookups per peer |\n")
                .append("| --- | --- | --- | --- | --- |\n");
        for (int n : sizes) {
            List<Result> limit = new ArrayList<>();
            List<Result> natpunch = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                limit.add(preconfigured(n));
                natpunch.add(withClients(n, options));
                System.out.println("N=" + n + " run " + (r + 1) + ": pre-configured " + limit.get(r) + ", natpunch " + natpunch.get(r));
            }
            double ratio = (double) median(natpunch).toMillis() / median(limit).toMillis();
            double lookups = natpunch.stream().mapToLong(Result::lookups).average().orElse(0) / n;
            table.append("| ").append(n).append(" | ").append(cell(limit)).append(" | ").append(cell(natpunch))
                    .append(" | ").append(String.format("%.1f", ratio)).append(" | ")
                    .append(String.format("%.1f", lookups)).append(" |\n");
        }
        System.out.println(table);
        Path out = Path.of("target", "time-to-mesh.md");
        Files.writeString(out, table);
        System.out.println("written to " + out.toAbsolutePath());
    }

    /** How long until the full mesh, the poll's granularity then, and the lookups the server logged. */
    record Result(Duration time, Duration poll, long lookups) {
        @Override
        public String toString() {
            return seconds(time) + " (poll " + poll.toMillis() + " ms" + (lookups > 0 ? ", " + lookups + " lookups" : "") + ")";
        }
    }

    private static Result preconfigured(int n) {
        try (MeshScenario s = MeshScenario.create()) {
            List<Peer> peers = s.peersBehindNats(n);
            List<String> configs = new ArrayList<>();
            for (Peer p : peers) {
                StringBuilder conf = new StringBuilder();
                for (Peer q : peers) {
                    if (q != p) {
                        conf.append("[Peer]\nPublicKey = ").append(q.key())
                                .append("\nAllowedIPs = ").append(q.wg().tunnelAddress().getHostAddress()).append("/32")
                                .append("\nEndpoint = ").append(Lab.formatEndpoint(q.mapping()))
                                .append("\nPersistentKeepalive = ").append(KEEPALIVE).append("\n\n");
                    }
                }
                configs.add(conf.toString());
            }
            Instant start = Instant.now();
            long t0 = System.nanoTime();
            List<Thread> appliers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
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
            return awaitMesh(s, peers, start, t0, 0);
        }
    }

    private static Result withClients(int n, String[] options) {
        try (MeshScenario s = MeshScenario.create()) {
            BackgroundProcess server = s.startServer();
            List<Peer> peers = s.peersBehindNats(n);
            MeshScenario.mesh(peers.toArray(Peer[]::new));
            Instant start = Instant.now();
            long t0 = System.nanoTime();
            for (Peer p : peers) {
                s.startClient(p, options);
            }
            Result r = awaitMesh(s, peers, start, t0, 0);
            return new Result(r.time(), r.poll(), server.countLines(LOOKUP));
        }
    }

    /**
     * Polls every interface until each has a handshake with every other, pausing only 50 ms
     * between rounds ({@link MeshScenario#awaitFullMesh}'s pause is too coarse for the limit's
     * few tens of ms) so that the polling does not take the CPU the clients need.
     */
    private static Result awaitMesh(MeshScenario s, List<Peer> peers, Instant start, long t0, long lookups) {
        long deadline = t0 + LIMIT.toNanos();
        long pollNanos = 0;
        while (true) {
            long before = System.nanoTime();
            boolean done = true;
            for (Peer p : peers) {
                Map<String, Instant> handshakes = p.wg().latestHandshakes();
                for (Peer q : peers) {
                    if (q != p && !handshakes.containsKey(q.key())) {
                        done = false;
                        break;
                    }
                }
                if (!done) {
                    break;
                }
            }
            long now = System.nanoTime();
            pollNanos = Math.max(pollNanos, now - before);
            if (done) {
                return new Result(Duration.ofNanos(now - t0), Duration.ofNanos(pollNanos), lookups);
            }
            if (now > deadline) {
                fail("no full mesh of " + peers.size() + " within " + LIMIT + " of " + start + "\n" + s.diagnostics());
            }
            MeshWatch.sleep(Duration.ofMillis(50));
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
