package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.fail;

import dev.natpunch.it.MeshScenario.Peer;
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
import org.junit.jupiter.api.Test;

/**
 * Time to mesh (issue 6.3), a benchmark, not a test: the build never runs it (the name does not end
 * in IT); it runs on request, through failsafe so that it gets the lab's class path and the CLI jar:
 *
 * <pre>
 * mvn -o -q -pl src-it -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=TimeToMeshBench [-Dttm.peers=2,4,8,16] [-Dttm.runs=1] [-Dttm.clientOptions="-c -d 1|-c -d 1 --protocol 1"]
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
 * printed). The datagrams each peer's site sent to the server are counted with nftables ({@link
 * MeshScenario#countRequests()}). The table goes to stdout and to {@code
 * src-it/target/time-to-mesh.md}. {@code ttm.clientOptions} lists option sets separated by
 * {@code |}, each measured in the same run against the same limit, so that one run compares
 * clients (the jar's default protocol version and {@code --protocol 1}, say).
 */
class TimeToMeshBench {
    private static final Duration LIMIT = Duration.ofMinutes(3);
    private static final int KEEPALIVE = 25;

    @Test
    void timeToMesh() throws IOException {
        Lab.assumeAvailable();
        int[] sizes = Arrays.stream(System.getProperty("ttm.peers", "2,4,8,16").split(","))
                .map(String::strip).mapToInt(Integer::parseInt).toArray();
        int runs = Integer.getInteger("ttm.runs", 1);
        List<String[]> variants = Arrays.stream(System.getProperty("ttm.clientOptions", "-c -d 1").split("\\|"))
                .map(v -> v.strip().split("\\s+")).toList();
        StringBuilder table = new StringBuilder()
                .append(runs).append(runs == 1 ? " run" : " runs").append(" per cell, ").append(Instant.now()).append('\n')
                .append("| N | pre-configured (limit) | natpunch client options | natpunch client | ratio | datagrams to the server per peer |\n")
                .append("| --- | --- | --- | --- | --- | --- |\n");
        for (int n : sizes) {
            List<Result> limit = new ArrayList<>();
            List<List<Result>> natpunch = new ArrayList<>();
            variants.forEach(v -> natpunch.add(new ArrayList<>()));
            for (int r = 0; r < runs; r++) {
                limit.add(preconfigured(n));
                System.out.println("N=" + n + " run " + (r + 1) + ": pre-configured " + limit.get(r));
                for (int v = 0; v < variants.size(); v++) {
                    natpunch.get(v).add(withClients(n, variants.get(v)));
                    System.out.println("N=" + n + " run " + (r + 1) + ": natpunch client " + String.join(" ", variants.get(v))
                            + ": " + natpunch.get(v).get(r));
                }
            }
            for (int v = 0; v < variants.size(); v++) {
                List<Result> results = natpunch.get(v);
                double ratio = (double) median(results).toMillis() / median(limit).toMillis();
                double datagrams = results.stream().mapToLong(Result::datagrams).average().orElse(0) / n;
                table.append("| ").append(n).append(" | ").append(cell(limit)).append(" | `").append(String.join(" ", variants.get(v)))
                        .append("` | ").append(cell(results)).append(" | ").append(String.format("%.0f", ratio)).append(" | ")
                        .append(String.format("%.1f", datagrams)).append(" |\n");
            }
        }
        System.out.println(table);
        Path out = Path.of("target", "time-to-mesh.md");
        Files.writeString(out, table);
        System.out.println("written to " + out.toAbsolutePath());
    }

    /**
     * How long until the full mesh, the poll's granularity then, and the datagrams all peers sent
     * to the server (nftables counters, so any protocol version counts alike).
     */
    record Result(Duration time, Duration poll, long datagrams) {
        @Override
        public String toString() {
            return seconds(time) + " (poll " + poll.toMillis() + " ms" + (datagrams > 0 ? ", " + datagrams + " datagrams to the server" : "") + ")";
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
            return awaitMesh(s, peers, start, t0);
        }
    }

    private static Result withClients(int n, String[] options) {
        try (MeshScenario s = MeshScenario.create()) {
            s.startServer();
            List<Peer> peers = s.peersBehindNats(n);
            MeshScenario.mesh(peers.toArray(Peer[]::new));
            s.countRequests();
            Instant start = Instant.now();
            long t0 = System.nanoTime();
            for (Peer p : peers) {
                s.startClient(p, options);
            }
            Result r = awaitMesh(s, peers, start, t0);
            return new Result(r.time(), r.poll(), peers.stream().mapToLong(s::requestsFrom).sum());
        }
    }

    /**
     * Polls every interface until each has a handshake with every other, pausing only 50 ms
     * between rounds ({@link MeshScenario#awaitFullMesh}'s pause is too coarse for the limit's
     * few tens of ms) so that the polling does not take the CPU the clients need.
     */
    private static Result awaitMesh(MeshScenario s, List<Peer> peers, Instant start, long t0) {
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
                return new Result(Duration.ofNanos(now - t0), Duration.ofNanos(pollNanos), 0);
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
