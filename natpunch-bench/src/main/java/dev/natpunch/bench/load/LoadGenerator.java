package dev.natpunch.bench.load;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

/**
 * UDP load generator for any rendezvous server of protocol version 1 (ours or natpunch-go's): many
 * simulated clients, each with its own key and its own socket (source port), speaking only wire
 * bytes. Reports answers per second, latency percentiles from the scheduled send time, loss, and
 * the server's CPU time and resident memory from /proc when its pid is known.
 *
 * <pre>
 * java -cp natpunch-bench/target/benchmarks.jar dev.natpunch.bench.load.LoadGenerator --mode suite
 * java -cp ... LoadGenerator --mode lookups --target 127.0.0.1:PORT --server-key KEY [--server-pid PID]
 *     [--clients 1000] [--duration 20s] [--warmup 3s] [--rate N/s | --window N] [--threads 1]
 * java -cp ... LoadGenerator --mode handshakes --target ... --server-key ... [--fresh-keys] [--pool N]
 * java -cp ... LoadGenerator --mode echo --target 127.0.0.1:PORT   (a {@link EchoServer})
 * </pre>
 *
 * <p>{@code suite} starts the servers itself as child JVMs and measures, in one run: X25519
 * operations per second (the handshake limit: cores x ops / 5), the echo server's datagrams per
 * second (the lookup limit), our server's lookups per second (closed loop) and latency at half the
 * echo rate (open loop), and its handshakes per second; each with its ratio to its limit.
 *
 * <p>Bounded: it stops after {@code --duration} (at most one hour) or {@code --max-requests}. It
 * only sends to loopback, or with {@code --allow-lab-address} to 198.18.0.0/15 (the lab
 * namespaces' simulated internet).
 */
public final class LoadGenerator {
    private static final PrintStream out = System.out;

    private LoadGenerator() {
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("LoadGenerator: " + e.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        switch (o.mode) {
            case "suite":
                suite(o);
                break;
            case "lookups":
            case "echo":
            case "handshakes": {
                Driver.Kind kind = o.mode.equals("lookups") ? Driver.Kind.LOOKUPS
                        : o.mode.equals("echo") ? Driver.Kind.ECHO : Driver.Kind.HANDSHAKES;
                if (kind != Driver.Kind.ECHO && o.serverKey == null) {
                    throw new IllegalArgumentException("--server-key is needed for --mode " + o.mode);
                }
                int pool = o.pool > 0 ? o.pool
                        : (int) Math.min(2_000_000, (o.rate > 0 ? o.rate : 6000) * (o.warmupNanos + o.durationNanos) / 1e9 * 1.2);
                Result r = run(o.mode, kind, o.target, o.serverKey, o.serverPid, o, o.rate,
                        o.window > 0 ? o.window : defaultWindow(kind, o.clients), pool);
                r.print();
                break;
            }
            default:
                throw new IllegalArgumentException("unknown --mode " + o.mode);
        }
    }

    static int defaultWindow(Driver.Kind kind, int clients) {
        return Math.min(clients, kind == Driver.Kind.HANDSHAKES ? 16 : 64);
    }

    // ---------------------------------------------------------------------------------------------

    /** One whole measurement against one server. */
    static Result run(String label, Driver.Kind kind, InetSocketAddress target, Key serverKey, long serverPid,
                      Options o, double rate, int window, int handshakePool) throws Exception {
        checkTarget(target, o.allowLab);
        int n = o.clients;
        InetAddress bind = target.getAddress().isLoopbackAddress()
                ? InetAddress.getByName("127.0.0.1") : InetAddress.getByName("0.0.0.0");
        KeyPair[] keys = new KeyPair[n];
        IntStream.range(0, n).parallel().forEach(i -> keys[i] = KeyPair.generate());
        SimClient[] clients = new SimClient[n];
        int[] clientByPort = new int[65536];
        Arrays.fill(clientByPort, -1);
        int slots = Math.max(1, Math.min(o.slots, n - 1));
        List<Driver> drivers = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                clients[i] = new SimClient(i, keys[i], bind, target, slots);
                clientByPort[clients[i].port] = i;
            }
            int t = Math.max(1, Math.min(o.threads, n));
            for (int d = 0; d < t; d++) {
                List<SimClient> share = new ArrayList<>();
                for (int i = d; i < n; i += t) {
                    share.add(clients[i]);
                }
                drivers.add(new Driver(kind, share.toArray(new SimClient[0]), clients, clientByPort,
                        o.timeoutNanos));
            }
            long setupStart = System.nanoTime();
            if (kind == Driver.Kind.HANDSHAKES) {
                int perClient = Math.max(1, (handshakePool + n - 1) / n);
                runAll(drivers, d -> d.buildHandshakes(serverKey, perClient, o.checkEvery, o.freshKeys));
                out.printf(Locale.ROOT, "[%s] built %d handshake initiations in %.1f s (%d per client)%n", label,
                        (long) perClient * n, (System.nanoTime() - setupStart) / 1e9, perClient);
            } else {
                AtomicReference<Integer> missing = new AtomicReference<>(0);
                int perThreadWindow = Math.max(1, Math.min(64, window) / t);
                runAll(drivers, d -> {
                    int m = d.establishSessions(serverKey, perThreadWindow);
                    synchronized (missing) {
                        missing.set(missing.get() + m);
                    }
                });
                if (missing.get() > 0) {
                    throw new IOException(missing.get() + " of " + n + " clients got no handshake answer from "
                            + target + "; is a version-1 server with that key listening there?");
                }
                if (kind == Driver.Kind.LOOKUPS) {
                    out.printf(Locale.ROOT, "[%s] %d clients registered in %.2f s%n", label, n,
                            (System.nanoTime() - setupStart) / 1e9);
                }
            }

            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            long measureFrom = start + o.warmupNanos;
            long duration = o.durationNanos;
            if (rate > 0 && o.maxRequests > 0) {
                duration = Math.min(duration, (long) (o.maxRequests / rate * 1e9));
            }
            long end = measureFrom + duration;
            long perThreadMax = o.maxRequests > 0 ? Math.max(1, o.maxRequests / t) : 0;
            Sampler sampler = new Sampler(serverPid, measureFrom, end);
            sampler.start();
            ProcStats genBefore = ProcStats.read(ProcessHandle.current().pid());
            double perThreadRate = rate / t;
            int perThreadWindow = Math.max(1, window / t);
            runAll(drivers, d -> d.run(start, measureFrom, end, perThreadRate, perThreadWindow, perThreadMax));
            ProcStats genAfter = ProcStats.read(ProcessHandle.current().pid());
            sampler.join();
            Counts total = new Counts();
            long stoppedAt = end;
            for (Driver d : drivers) {
                total.add(d.counts());
                stoppedAt = Math.min(stoppedAt, d.stoppedSendingAt());
            }
            Result r = new Result(label, kind, rate, window, n, t, (Math.max(stoppedAt, measureFrom + 1) - measureFrom) / 1e9,
                    total, sampler);
            for (Driver d : drivers) {
                r.warmupAnswered += d.warmupAnswered();
            }
            if (genBefore != null && genAfter != null) {
                r.generatorCores = (genAfter.cpuNanos - genBefore.cpuNanos) / ((end - start) / 1.0);
            }
            return r;
        } finally {
            for (Driver d : drivers) {
                d.close();
            }
            for (SimClient c : clients) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    interface DriverTask {
        void accept(Driver d) throws Exception;
    }

    private static void runAll(List<Driver> drivers, DriverTask task) throws Exception {
        AtomicReference<Exception> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < drivers.size(); i++) {
            Driver d = drivers.get(i);
            Thread th = new Thread(() -> {
                try {
                    task.accept(d);
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                }
            }, "npb-load-" + i);
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    /** Refuses anything but loopback, and 198.18.0.0/15 (lab namespaces) when explicitly allowed. */
    static void checkTarget(InetSocketAddress target, boolean allowLab) {
        InetAddress a = target.getAddress();
        if (a == null) {
            throw new IllegalArgumentException("cannot resolve " + target.getHostString());
        }
        if (!(a instanceof Inet4Address)) {
            throw new IllegalArgumentException("protocol version 1 is IPv4 only: " + a.getHostAddress());
        }
        if (a.isLoopbackAddress()) {
            return;
        }
        byte[] b = a.getAddress();
        boolean lab = (b[0] & 0xff) == 198 && ((b[1] & 0xff) == 18 || (b[1] & 0xff) == 19);
        if (lab && allowLab) {
            return;
        }
        throw new IllegalArgumentException("refusing to send load to " + a.getHostAddress()
                + ": only loopback, or with --allow-lab-address an address in 198.18.0.0/15 inside a"
                + " network namespace you made");
    }

    // ---------------------------------------------------------------------------------------------

    private static void suite(Options o) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        String serverJar = o.serverJar != null ? o.serverJar : "natpunch-cli/target/natpunch.jar";
        if (!Files.isRegularFile(Path.of(serverJar))) {
            throw new IllegalArgumentException(serverJar + " not found: build it (mvn -o -q -pl natpunch-core,natpunch-cli"
                    + " -am package -DskipTests) or give --server-jar");
        }
        out.println("== natpunch load suite");
        out.println("machine: " + machine());
        out.println("load average at start: " + loadAverage());
        out.printf(Locale.ROOT, "clients %d, generator threads %d, warm-up %.0f s, duration %.0f s (handshakes %.0f s)%n",
                o.clients, o.threads, o.warmupNanos / 1e9, o.durationNanos / 1e9, o.handshakeDurationNanos / 1e9);

        double x1 = X25519Rate.measure(1, 1000, 3000);
        double xAll = X25519Rate.measure(cores, 1000, 3000);
        double handshakeLimit = cores * x1 / 5;
        out.printf(Locale.ROOT, "X25519 (BouncyCastle calculateAgreement): %.0f ops/s on 1 thread, %.0f ops/s on %d threads"
                + " together%n  handshake limit = %d cores x %.0f / 5 = %.0f handshakes/s%n", x1, xAll, cores, cores, x1,
                handshakeLimit);

        Result echo;
        Result echoHalf;
        try (ChildServer s = ChildServer.echo(o.serverJvmOptions, o.echoThreads)) {
            out.println("echo server: " + s.command);
            echo = run("echo, closed loop", Driver.Kind.ECHO, s.address, null, s.pid(), o, 0,
                    o.window > 0 ? o.window : defaultWindow(Driver.Kind.ECHO, o.clients), 0);
            echo.print();
            echoHalf = run("echo, open loop at half its max", Driver.Kind.ECHO, s.address, null, s.pid(), o,
                    echo.answeredPerSecond() / 2, 0, 0);
            echoHalf.print();
        }
        double echoRate = echo.answeredPerSecond();

        Result lookups;
        Result lookupsHalf;
        Result handshakes;
        Result freshHandshakes;
        Result lookupsInfo = null;
        try (ChildServer s = ChildServer.rendezvous(serverJar, o.serverJvmOptions, o.serverLog)) {
            out.println("rendezvous server (log level " + o.serverLog + "): " + s.command);
            lookups = run("lookups, closed loop", Driver.Kind.LOOKUPS, s.address, s.publicKey, s.pid(), o, 0,
                    o.window > 0 ? o.window : defaultWindow(Driver.Kind.LOOKUPS, o.clients), 0);
            lookups.print();
            lookupsHalf = run("lookups, open loop at half the echo rate", Driver.Kind.LOOKUPS, s.address,
                    s.publicKey, s.pid(), o, echoRate / 2, 0, 0);
            lookupsHalf.print();
            Options h = o.withDuration(o.handshakeDurationNanos);
            int pool = (int) Math.min(2_000_000, handshakeLimit * 1.3 * (h.warmupNanos + h.durationNanos) / 1e9);
            handshakes = run("handshakes, closed loop, known clients", Driver.Kind.HANDSHAKES, s.address, s.publicKey,
                    s.pid(), h, 0, o.window > 0 ? o.window : defaultWindow(Driver.Kind.HANDSHAKES, o.clients), pool);
            handshakes.print();
            Options fresh = o.withDuration(o.handshakeDurationNanos);
            fresh.freshKeys = true;
            freshHandshakes = run("handshakes, closed loop, a new key each", Driver.Kind.HANDSHAKES, s.address,
                    s.publicKey, s.pid(), fresh, 0,
                    o.window > 0 ? o.window : defaultWindow(Driver.Kind.HANDSHAKES, o.clients), pool);
            freshHandshakes.print();
        }
        Result flood = null;
        long heapBefore = -1;
        long heapAfter = -1;
        if (o.floodNanos > 0) {
            try (ChildServer s = ChildServer.rendezvous(serverJar, o.serverJvmOptions, o.serverLog)) {
                out.println("rendezvous server, fresh for the flood: " + s.command);
                Options f = o.withDuration(o.floodNanos);
                f.freshKeys = true;
                int pool = (int) Math.min(3_000_000, handshakes.answeredPerSecond() * 1.3 * (f.warmupNanos + f.durationNanos) / 1e9);
                heapBefore = s.liveHeapKb();
                flood = run("handshake flood, a new random key each", Driver.Kind.HANDSHAKES, s.address, s.publicKey,
                        s.pid(), f, 0, o.window > 0 ? o.window : defaultWindow(Driver.Kind.HANDSHAKES, o.clients), pool);
                heapAfter = s.liveHeapKb();
                flood.print();
                flood.printRssSeries(5);
                out.printf(Locale.ROOT, "  server live heap after a full GC (jcmd): %d KB before the flood, %d KB after%n",
                        heapBefore, heapAfter);
            }
        }
        Result lookupsLauncher = null;
        Result handshakesLauncher = null;
        if (o.alsoLauncherFlags) {
            List<String> flags = new ArrayList<>(o.serverJvmOptions);
            flags.addAll(StartupBenchmark.LAUNCHER_FLAGS);
            try (ChildServer s = ChildServer.rendezvous(serverJar, flags, o.serverLog)) {
                out.println("rendezvous server with bin/natpunch's JVM flags: " + s.command);
                lookupsLauncher = run("lookups, closed loop, launcher flags", Driver.Kind.LOOKUPS, s.address,
                        s.publicKey, s.pid(), o, 0, o.window > 0 ? o.window : defaultWindow(Driver.Kind.LOOKUPS, o.clients), 0);
                lookupsLauncher.print();
                Options h = o.withDuration(o.handshakeDurationNanos);
                int pool = (int) Math.min(2_000_000, handshakeLimit * 1.3 * (h.warmupNanos + h.durationNanos) / 1e9);
                handshakesLauncher = run("handshakes, closed loop, launcher flags", Driver.Kind.HANDSHAKES, s.address,
                        s.publicKey, s.pid(), h, 0, o.window > 0 ? o.window : defaultWindow(Driver.Kind.HANDSHAKES, o.clients), pool);
                handshakesLauncher.print();
            }
        }
        if (o.alsoInfoLog && !o.serverLog.equals("info")) {
            try (ChildServer s = ChildServer.rendezvous(serverJar, o.serverJvmOptions, "info")) {
                out.println("rendezvous server as shipped (log level info: one line per lookup): " + s.command);
                lookupsInfo = run("lookups, closed loop, server logging each lookup", Driver.Kind.LOOKUPS,
                        s.address, s.publicKey, s.pid(), o, 0,
                        o.window > 0 ? o.window : defaultWindow(Driver.Kind.LOOKUPS, o.clients), 0);
                lookupsInfo.print();
            }
        }

        // The limits again at the end: on a shared or virtualised machine the capacity drifts
        // during a run, and a limit measured in a slow spell would flatter the ratios. The higher
        // of the two measurements is the limit.
        Result echoAgain;
        try (ChildServer s = ChildServer.echo(o.serverJvmOptions, o.echoThreads)) {
            echoAgain = run("echo again, closed loop", Driver.Kind.ECHO, s.address, null, s.pid(), o, 0,
                    o.window > 0 ? o.window : defaultWindow(Driver.Kind.ECHO, o.clients), 0);
            echoAgain.print();
        }
        double x1Again = X25519Rate.measure(1, 1000, 3000);
        out.printf(Locale.ROOT, "X25519 again: %.0f ops/s on 1 thread%n", x1Again);
        double echoFirst = echoRate;
        echoRate = Math.max(echoRate, echoAgain.answeredPerSecond());
        double x1First = x1;
        x1 = Math.max(x1, x1Again);
        handshakeLimit = cores * x1 / 5;

        out.println();
        out.println("== Summary (ratios to the limits measured in this run)");
        out.printf(Locale.ROOT, "limits measured at the start and at the end; the higher one counts: echo %.0f and %.0f/s,"
                + " X25519 %.0f and %.0f ops/s%n", echoFirst, echoAgain.answeredPerSecond(), x1First, x1Again);
        out.println("load average at end: " + loadAverage());
        out.printf(Locale.ROOT, "echo datagrams/s (lookup limit):   %10.0f%n", echoRate);
        out.printf(Locale.ROOT, "lookups/s, closed loop:            %10.0f  = %5.1f%% of echo     (target >= 80%%: %s)%n",
                lookups.answeredPerSecond(), 100 * lookups.answeredPerSecond() / echoRate,
                lookups.answeredPerSecond() >= 0.8 * echoRate ? "met" : "NOT met");
        if (lookupsInfo != null) {
            out.printf(Locale.ROOT, "  with the server logging each lookup (info): %10.0f  = %5.1f%% of echo%n",
                    lookupsInfo.answeredPerSecond(), 100 * lookupsInfo.answeredPerSecond() / echoRate);
        }
        if (lookupsLauncher != null) {
            out.printf(Locale.ROOT, "  with bin/natpunch's JVM flags (C1 only, serial GC): %10.0f  = %5.1f%% of echo%n",
                    lookupsLauncher.answeredPerSecond(), 100 * lookupsLauncher.answeredPerSecond() / echoRate);
        }
        double p99 = lookupsHalf.percentileMicros(99);
        out.printf(Locale.ROOT, "lookup latency at %.0f/s offered (half the first echo rate): p50 %.0f us, p99 %.0f us,"
                        + " p99.9 %.0f us, loss %.3f%%  (target p99 < 1000 us: %s)%n",
                echoFirst / 2, lookupsHalf.percentileMicros(50), p99, lookupsHalf.percentileMicros(99.9),
                lookupsHalf.lossPercent(), p99 < 1000 && lookupsHalf.lossPercent() < 1 ? "met" : "NOT met");
        out.printf(Locale.ROOT, "  (echo server at the same offered load: p50 %.0f us, p99 %.0f us, p99.9 %.0f us)%n",
                echoHalf.percentileMicros(50), echoHalf.percentileMicros(99), echoHalf.percentileMicros(99.9));
        out.printf(Locale.ROOT, "X25519 ops/s (1 thread):           %10.0f  -> handshake limit %d x %.0f / 5 = %.0f/s%n",
                x1, cores, x1, handshakeLimit);
        for (Result r : List.of(handshakes, freshHandshakes)) {
            out.printf(Locale.ROOT, "handshakes/s, %-20s %10.0f  = %5.1f%% of limit    (target >= 80%%: %s)%n",
                    r == handshakes ? "known clients:" : "a new key each:", r.answeredPerSecond(),
                    100 * r.answeredPerSecond() / handshakeLimit,
                    r.answeredPerSecond() >= 0.8 * handshakeLimit ? "met" : "NOT met");
            out.printf(Locale.ROOT, "  handshake CPU of the server: %.0f us per handshake (limit's assumption: 5 x %.0f us = %.0f us)%n",
                    r.serverCpuMicrosPerAnswer(), 1e6 / x1, 5e6 / x1);
        }
        if (handshakesLauncher != null) {
            out.printf(Locale.ROOT, "  with bin/natpunch's JVM flags (C1 only, serial GC): %10.0f  = %5.1f%% of limit (%.0f us per handshake)%n",
                    handshakesLauncher.answeredPerSecond(), 100 * handshakesLauncher.answeredPerSecond() / handshakeLimit,
                    handshakesLauncher.serverCpuMicrosPerAnswer());
        }
        if (flood != null) {
            out.printf(Locale.ROOT, "handshake flood from %d new keys over %.0f s: server RSS %.0f MB at the start of the window,"
                            + " %.0f MB max, %.0f MB at the end (%.0f bytes of RSS growth per new key)%n",
                    flood.counts.answered, flood.seconds, flood.server.atStart.rssKb / 1024.0, flood.server.maxRssKb / 1024.0,
                    flood.server.atEnd.rssKb / 1024.0,
                    (flood.server.atEnd.rssKb - flood.server.atStart.rssKb) * 1024.0 / Math.max(1, flood.counts.answered));
            // Warm-up handshakes registered keys too: count every answered one since the first heap reading.
            long keys = flood.counts.answered + flood.warmupAnswered;
            if (heapBefore > 0 && heapAfter > 0) {
                out.printf(Locale.ROOT, "  live heap after a full GC: %d KB before, %d KB after %d new keys (incl. warm-up),"
                        + " %.0f bytes per new key (a server that evicts idle sessions and their keys from a full table"
                        + " keeps fewer keys than it answered: for the cost of a key see RegistrationMemory)%n",
                        heapBefore, heapAfter, keys,
                        (heapAfter - heapBefore) * 1024.0 / Math.max(1, keys));
            }
        }
    }

    static String machine() {
        String model = "?";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            // Not Linux: leave the model unknown.
        }
        return "nproc " + Runtime.getRuntime().availableProcessors() + ", CPU " + model + ", JDK "
                + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + ", " + System.getProperty("os.name") + " " + System.getProperty("os.version");
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return "?";
        }
    }

    // ---------------------------------------------------------------------------------------------

    /** Samples the server's /proc figures at the start and end of the measured window, and its peak RSS in between. */
    static final class Sampler extends Thread {
        private final long pid;
        private final long from;
        private final long to;
        volatile ProcStats atStart;
        volatile ProcStats atEnd;
        volatile long maxRssKb;
        /** {seconds since the window opened, RSS in KB}, every 250 ms. */
        final List<double[]> rssSeries = java.util.Collections.synchronizedList(new ArrayList<>());

        Sampler(long pid, long from, long to) {
            super("npb-proc-sampler");
            setDaemon(true);
            this.pid = pid;
            this.from = from;
            this.to = to;
        }

        @Override
        public void run() {
            if (pid <= 0) {
                return;
            }
            sleepUntil(from);
            atStart = ProcStats.read(pid);
            while (System.nanoTime() < to) {
                ProcStats s = ProcStats.read(pid);
                if (s != null) {
                    maxRssKb = Math.max(maxRssKb, s.rssKb);
                    rssSeries.add(new double[] {(System.nanoTime() - from) / 1e9, s.rssKb});
                }
                sleepUntil(Math.min(to, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250)));
            }
            atEnd = ProcStats.read(pid);
            if (atEnd != null) {
                maxRssKb = Math.max(maxRssKb, atEnd.rssKb);
            }
        }

        private static void sleepUntil(long deadline) {
            long left;
            while ((left = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    static final class Result {
        final String label;
        final Driver.Kind kind;
        final double rate;
        final int window;
        final int clients;
        final int threads;
        final double seconds;
        final Counts counts;
        final Sampler server;
        double generatorCores = Double.NaN;
        /** Answers to requests sent in the warm-up (not in {@link #counts}). */
        long warmupAnswered;

        Result(String label, Driver.Kind kind, double rate, int window, int clients, int threads, double seconds,
               Counts counts, Sampler server) {
            this.label = label;
            this.kind = kind;
            this.rate = rate;
            this.window = window;
            this.clients = clients;
            this.threads = threads;
            this.seconds = seconds;
            this.counts = counts;
            this.server = server;
        }

        double answeredPerSecond() {
            return counts.answered / seconds;
        }

        double lossPercent() {
            return counts.sent == 0 ? 0 : 100.0 * counts.lost / counts.sent;
        }

        double percentileMicros(double p) {
            return counts.latency.getTotalCount() == 0 ? Double.NaN : counts.latency.getValueAtPercentile(p) / 1000.0;
        }

        double serverCores() {
            if (server.atStart == null || server.atEnd == null) {
                return Double.NaN;
            }
            return (server.atEnd.cpuNanos - server.atStart.cpuNanos) / (seconds * 1e9);
        }

        double serverCpuMicrosPerAnswer() {
            return serverCores() * 1e6 / answeredPerSecond();
        }

        void print() {
            String what = kind == Driver.Kind.HANDSHAKES ? "handshakes" : kind == Driver.Kind.ECHO ? "echoes" : "lookups";
            out.printf(Locale.ROOT, "[%s] %d clients, %d generator thread(s), %s, %.1f s measured%n", label, clients,
                    threads, rate > 0 ? String.format(Locale.ROOT, "open loop at %.0f/s offered", rate)
                            : "closed loop, " + window + " in flight", seconds);
            out.printf(Locale.ROOT, "  %s/s %.0f  (sent %d, answered %d, lost %d = %.3f%%, of which not sent %d;"
                            + " invalid %d, late %d, not found %d%s)%n",
                    what, answeredPerSecond(), counts.sent, counts.answered, counts.lost, lossPercent(), counts.notSent,
                    counts.invalid, counts.late, counts.notFound,
                    kind == Driver.Kind.HANDSHAKES ? String.format(Locale.ROOT, "; message 2 verified %d, failed %d,"
                            + " pool exhausted %d", counts.verified, counts.verifyFailed, counts.poolExhausted) : "");
            out.printf(Locale.ROOT, "  latency us: p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f%n", percentileMicros(50),
                    percentileMicros(99), percentileMicros(99.9),
                    counts.latency.getTotalCount() == 0 ? Double.NaN : counts.latency.getMaxValue() / 1000.0);
            if (server.atEnd != null) {
                out.printf(Locale.ROOT, "  server: CPU %.2f cores (%.1f us per answer), RSS %.1f MB (max %.1f MB in the window,"
                                + " peak since start %.1f MB), %d threads%n", serverCores(), serverCpuMicrosPerAnswer(),
                        server.atEnd.rssKb / 1024.0, server.maxRssKb / 1024.0, server.atEnd.peakRssKb / 1024.0,
                        server.atEnd.threads);
            }
            out.printf(Locale.ROOT, "  generator: CPU %.2f cores%n", generatorCores);
        }

        /** The server's RSS about every {@code step} seconds of the window. */
        void printRssSeries(double step) {
            StringBuilder b = new StringBuilder("  server RSS over the window (s: MB):");
            double next = 0;
            synchronized (server.rssSeries) {
                for (double[] p : server.rssSeries) {
                    if (p[0] >= next) {
                        b.append(String.format(Locale.ROOT, " %.0f: %.0f", p[0], p[1] / 1024));
                        next = p[0] + step - 0.2;
                    }
                }
            }
            out.println(b);
        }
    }

    // ---------------------------------------------------------------------------------------------

    static final class Options {
        static final String USAGE = String.join("\n",
                "usage: LoadGenerator --mode suite|lookups|handshakes|echo [options]",
                "  --target HOST:PORT       server to load (not in suite mode); loopback only unless --allow-lab-address",
                "  --server-key BASE64      the server's public key (lookups, handshakes)",
                "  --server-pid PID         read the server's CPU time and memory from /proc/PID",
                "  --clients N              simulated clients, each with its own key and socket (default 1000)",
                "  --duration D             measured time, e.g. 20s, 500ms, 2m (default 20s; at most 1h)",
                "  --warmup D               unmeasured load before it (default 3s)",
                "  --handshake-duration D   suite: measured time of the handshake run (default 10s)",
                "  --flood D                suite: then a handshake flood from fresh random keys for D (memory)",
                "  --rate N                 open loop at N requests/s; without it, closed loop",
                "  --window N               closed loop: requests in flight (default 64; handshakes 16)",
                "  --max-requests N         stop sending after N requests",
                "  --threads N              generator threads (default 1)",
                "  --timeout D              an unanswered request is lost after this (default 1s)",
                "  --slots N                lookups in flight per client (default 8)",
                "  --fresh-keys             handshakes: a new random key for every handshake",
                "  --pool N                 handshakes: initiations to pre-build (default: enough for the run)",
                "  --check-every N          handshakes: verify every N-th message 2 (default 16)",
                "  --server-jar PATH        suite: the CLI jar (default natpunch-cli/target/natpunch.jar)",
                "  --server-jvm-opts 'A B'  suite: JVM options of the server child JVMs",
                "  --server-log LEVEL       suite: the server's slf4j-simple level (default warn)",
                "  --echo-threads N         suite: threads of the echo server sharing its socket (default 1, as the",
                "                           server has one thread per socket for lookups)",
                "  --also-info-log          suite: one more lookup run with the server logging each lookup",
                "  --also-launcher-flags    suite: lookups and handshakes again with the server under bin/natpunch's JVM flags",
                "  --allow-lab-address      allow a target in 198.18.0.0/15 (a lab network namespace)");

        String mode = "suite";
        InetSocketAddress target;
        Key serverKey;
        long serverPid = -1;
        int clients = 1000;
        long durationNanos = TimeUnit.SECONDS.toNanos(20);
        long warmupNanos = TimeUnit.SECONDS.toNanos(3);
        long handshakeDurationNanos = TimeUnit.SECONDS.toNanos(10);
        long floodNanos;
        double rate;
        int window;
        long maxRequests;
        int threads = 1;
        long timeoutNanos = TimeUnit.SECONDS.toNanos(1);
        int slots = 8;
        boolean freshKeys;
        int pool;
        int checkEvery = 16;
        String serverJar;
        List<String> serverJvmOptions = List.of();
        String serverLog = "warn";
        int echoThreads = 1;
        boolean alsoInfoLog;
        boolean alsoLauncherFlags;
        boolean allowLab;

        Options withDuration(long nanos) {
            Options c = new Options();
            c.mode = mode;
            c.target = target;
            c.serverKey = serverKey;
            c.serverPid = serverPid;
            c.clients = clients;
            c.durationNanos = nanos;
            c.warmupNanos = warmupNanos;
            c.handshakeDurationNanos = handshakeDurationNanos;
            c.floodNanos = floodNanos;
            c.rate = rate;
            c.window = window;
            c.maxRequests = maxRequests;
            c.threads = threads;
            c.timeoutNanos = timeoutNanos;
            c.slots = slots;
            c.freshKeys = freshKeys;
            c.pool = pool;
            c.checkEvery = checkEvery;
            c.serverJar = serverJar;
            c.serverJvmOptions = serverJvmOptions;
            c.serverLog = serverLog;
            c.echoThreads = echoThreads;
            c.alsoInfoLog = alsoInfoLog;
            c.alsoLauncherFlags = alsoLauncherFlags;
            c.allowLab = allowLab;
            return c;
        }

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--allow-lab-address":
                        o.allowLab = true;
                        continue;
                    case "--fresh-keys":
                        o.freshKeys = true;
                        continue;
                    case "--also-info-log":
                        o.alsoInfoLog = true;
                        continue;
                    case "--also-launcher-flags":
                        o.alsoLauncherFlags = true;
                        continue;
                    case "-h":
                    case "--help":
                        System.out.println(USAGE);
                        System.exit(0);
                        return o;
                    default:
                        break;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + a);
                }
                String v = args[++i];
                switch (a) {
                    case "--mode": o.mode = v; break;
                    case "--target": o.target = hostPort(v); break;
                    case "--server-key": o.serverKey = Key.fromBase64(v); break;
                    case "--server-pid": o.serverPid = Long.parseLong(v); break;
                    case "--clients": o.clients = range(a, Integer.parseInt(v), 2, 60_000); break;
                    case "--duration": o.durationNanos = duration(a, v); break;
                    case "--warmup": o.warmupNanos = duration(a, v); break;
                    case "--handshake-duration": o.handshakeDurationNanos = duration(a, v); break;
                    case "--flood": o.floodNanos = duration(a, v); break;
                    case "--rate": o.rate = Double.parseDouble(v.replace("/s", "")); break;
                    case "--window": o.window = range(a, Integer.parseInt(v), 1, 1_000_000); break;
                    case "--max-requests": o.maxRequests = Long.parseLong(v); break;
                    case "--threads": o.threads = range(a, Integer.parseInt(v), 1, 64); break;
                    case "--timeout": o.timeoutNanos = duration(a, v); break;
                    case "--slots": o.slots = range(a, Integer.parseInt(v), 1, 64); break;
                    case "--pool": o.pool = range(a, Integer.parseInt(v), 1, 5_000_000); break;
                    case "--check-every": o.checkEvery = range(a, Integer.parseInt(v), 1, 1_000_000); break;
                    case "--server-jar": o.serverJar = v; break;
                    case "--server-jvm-opts": o.serverJvmOptions = v.isBlank() ? List.of() : List.of(v.trim().split("\\s+")); break;
                    case "--server-log": o.serverLog = v; break;
                    case "--echo-threads": o.echoThreads = range(a, Integer.parseInt(v), 1, 64); break;
                    default: throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (!o.mode.equals("suite") && o.target == null) {
                throw new IllegalArgumentException("--target is needed for --mode " + o.mode);
            }
            if (o.target != null) {
                checkTarget(o.target, o.allowLab);
            }
            return o;
        }

        private static int range(String name, int v, int min, int max) {
            if (v < min || v > max) {
                throw new IllegalArgumentException(name + " must be " + min + " to " + max);
            }
            return v;
        }

        static long duration(String name, String v) {
            long nanos;
            if (v.endsWith("ms")) {
                nanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(v.substring(0, v.length() - 2)));
            } else if (v.endsWith("s")) {
                nanos = (long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 1e9);
            } else if (v.endsWith("m")) {
                nanos = (long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 60e9);
            } else {
                nanos = (long) (Double.parseDouble(v) * 1e9);
            }
            if (nanos <= 0 || nanos > TimeUnit.HOURS.toNanos(1)) {
                throw new IllegalArgumentException(name + " must be more than 0 and at most 1h");
            }
            return nanos;
        }

        static InetSocketAddress hostPort(String v) {
            int colon = v.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("expected HOST:PORT, got " + v);
            }
            return new InetSocketAddress(v.substring(0, colon), Integer.parseInt(v.substring(colon + 1)));
        }
    }
}
