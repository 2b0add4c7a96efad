package dev.natpunch.bench.load;

import dev.natpunch.crypto.KeyPair;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Time from the start of a {@code natpunch client} process to its first datagram towards the
 * server, with the real client against a real WireGuard interface (wireguard-go) in a network
 * namespace {@code npb-x}, for several JVM settings: plain {@code java -jar}, the launcher's flags
 * (bin/natpunch), and each with an AppCDS archive made by a training run of the real client
 * ({@code -XX:ArchiveClassesAtExit}, then {@code -XX:SharedArchiveFile}); and {@code bin/natpunch}
 * itself, as a user runs it, with the archive it makes on first use (in a fresh cache directory:
 * its first start, without the archive, is shown apart).
 *
 * <pre>
 * sudo java -cp natpunch-bench/target/benchmarks.jar dev.natpunch.bench.load.StartupBenchmark \
 *     [--jar natpunch-cli/target/natpunch.jar] [--launcher bin/natpunch] [--runs 7]
 * </pre>
 *
 * <p>Needs root, ip, wg and wireguard-go. Sets up the namespace, the interface {@code npb-x-wg0}
 * and one peer, re-runs itself inside the namespace (so the client starts directly from this JVM,
 * and a UDP listener on 127.0.0.1 in the namespace timestamps the first datagram), and tears
 * everything down at the end, also on failure. The listener never answers, so each client is
 * stopped once it has sent.
 */
public final class StartupBenchmark {
    static final String NAMESPACE = "npb-x";
    static final String INTERFACE = "npb-x-wg0";
    static final int LISTEN_PORT = 51820;
    static final List<String> LAUNCHER_FLAGS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k");

    private StartupBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        String jar = "natpunch-cli/target/natpunch.jar";
        String launcher = "bin/natpunch";
        int runs = 7;
        boolean inside = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jar": jar = args[++i]; break;
                case "--launcher": launcher = args[++i]; break;
                case "--runs": runs = Integer.parseInt(args[++i]); break;
                case "--inside": inside = true; break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        jar = Path.of(jar).toAbsolutePath().toString();
        if (!Files.isRegularFile(Path.of(jar))) {
            throw new IllegalArgumentException(jar + " not found; build natpunch-cli first");
        }
        launcher = Path.of(launcher).toAbsolutePath().toString();
        if (!Files.isExecutable(Path.of(launcher))) {
            throw new IllegalArgumentException(launcher + " not found or not executable");
        }
        if (inside) {
            System.exit(measure(jar, launcher, runs));
        }
        System.exit(outside(jar, launcher, runs));
    }

    // --- outside the namespace: set up, run inside, tear down ------------------------------------

    private static int outside(String jar, String launcher, int runs) throws Exception {
        Path socket = Path.of("/var/run/wireguard", INTERFACE + ".sock");
        Path dir = Files.createTempDirectory("npb-startup", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Process wg = null;
        try {
            if (Files.exists(Path.of("/run/netns", NAMESPACE))) {
                throw new IOException("namespace " + NAMESPACE + " exists already (left over?); remove it: ip netns del " + NAMESPACE);
            }
            sh("ip", "netns", "add", NAMESPACE);
            sh("ip", "-n", NAMESPACE, "link", "set", "lo", "up");
            wg = new ProcessBuilder("ip", "netns", "exec", NAMESPACE, "wireguard-go", "-f", INTERFACE)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("wireguard-go.log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(socket)) {
                if (System.nanoTime() > deadline || !wg.isAlive()) {
                    throw new IOException("wireguard-go did not create " + socket + ": "
                            + Files.readString(dir.resolve("wireguard-go.log")));
                }
                Thread.sleep(20);
            }
            Path keyFile = dir.resolve("wg.key");
            Files.writeString(keyFile, KeyPair.generate().privateKey().toBase64() + "\n");
            sh("ip", "netns", "exec", NAMESPACE, "wg", "set", INTERFACE, "private-key", keyFile.toString(),
                    "listen-port", Integer.toString(LISTEN_PORT),
                    "peer", KeyPair.generate().publicKey().toBase64(), "allowed-ips", "100.64.0.2/32");
            sh("ip", "-n", NAMESPACE, "addr", "add", "100.64.0.1/24", "dev", INTERFACE);
            sh("ip", "-n", NAMESPACE, "link", "set", INTERFACE, "up");
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NAMESPACE, ChildServer.javaBinary(),
                    "-cp", System.getProperty("java.class.path"), StartupBenchmark.class.getName(),
                    "--inside", "--jar", jar, "--launcher", launcher, "--runs", Integer.toString(runs)));
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            try {
                return p.waitFor();
            } finally {
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            }
        } finally {
            if (wg != null) {
                wg.destroy();
                if (!wg.waitFor(5, TimeUnit.SECONDS)) {
                    wg.destroyForcibly();
                }
            }
            shQuietly("ip", "netns", "del", NAMESPACE);
            Files.deleteIfExists(socket);
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + output.trim());
        }
    }

    private static void shQuietly(String... cmd) {
        try {
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            // Best effort clean-up.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // --- inside the namespace: the measurements --------------------------------------------------

    /** A way to start the client: JVM options before {@code -jar}, or the launcher script (null options). */
    private static final class Config {
        final String name;
        final List<String> jvmOptions;
        final long[] millis;
        int done;

        Config(String name, List<String> jvmOptions, int runs) {
            this.name = name;
            this.jvmOptions = jvmOptions;
            this.millis = new long[runs];
        }
    }

    private static int measure(String jar, String launcher, int runs) throws Exception {
        System.out.println("== natpunch client start-up: process start to first datagram to the server");
        System.out.println("machine: " + LoadGenerator.machine());
        System.out.println("load average at start: " + LoadGenerator.loadAverage());
        Path dir = Files.createTempDirectory("npb-cds", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        try (DatagramSocket listener = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            LinkedBlockingQueue<long[]> arrivals = new LinkedBlockingQueue<>();
            Thread rx = new Thread(() -> receive(listener, arrivals), "npb-first-packet");
            rx.setDaemon(true);
            rx.start();
            String server = "127.0.0.1:" + listener.getLocalPort();
            List<String> clientArgs = List.of("-jar", jar, "client", INTERFACE, server,
                    KeyPair.generate().publicKey().toBase64(), "--verify", "0");
            List<String> launcherCommand = new ArrayList<>(List.of(launcher));
            launcherCommand.addAll(clientArgs.subList(2, clientArgs.size()));
            Path cache = dir.resolve("launcher-cache");
            long firstUse = launcherFirstUse(launcherCommand, cache, arrivals);
            System.out.println("client: java <JVM options> " + String.join(" ", clientArgs)
                    + "  (interface " + INTERFACE + " of wireguard-go, 1 peer, in namespace " + NAMESPACE + ")");

            Path plainArchive = dir.resolve("client-default.jsa");
            Path launcherArchive = dir.resolve("client-launcher.jsa");
            train(List.of("-XX:ArchiveClassesAtExit=" + plainArchive), clientArgs, arrivals);
            List<String> withLauncher = new ArrayList<>(LAUNCHER_FLAGS);
            withLauncher.add("-XX:ArchiveClassesAtExit=" + launcherArchive);
            train(withLauncher, clientArgs, arrivals);
            System.out.printf(Locale.ROOT, "AppCDS archives from one training run each: %d KB (default flags),"
                            + " %d KB (launcher flags)%n", Files.size(plainArchive) / 1024,
                    Files.size(launcherArchive) / 1024);

            List<String> launcherCds = new ArrayList<>(LAUNCHER_FLAGS);
            launcherCds.add("-XX:SharedArchiveFile=" + launcherArchive);
            List<Config> configs = List.of(
                    new Config("java -jar (defaults)", List.of(), runs),
                    new Config("launcher flags (bin/natpunch)", LAUNCHER_FLAGS, runs),
                    new Config("AppCDS archive", List.of("-XX:SharedArchiveFile=" + plainArchive), runs),
                    new Config("launcher flags + AppCDS archive", launcherCds, runs),
                    new Config("bin/natpunch (its own archive)", null, runs));
            // Interleaved, so slow spells of the shared machine hit every configuration alike.
            for (int r = 0; r < runs; r++) {
                for (Config c : configs) {
                    long ms = c.jvmOptions == null ? once(launcherCommand, cache, arrivals)
                            : once(c.jvmOptions, clientArgs, arrivals, false);
                    c.millis[c.done++] = ms;
                }
            }
            long[] floor = new long[runs];
            for (int r = 0; r < runs; r++) {
                floor[r] = jvmFloor();
            }
            Arrays.sort(floor);
            System.out.println();
            System.out.printf(Locale.ROOT, "%-34s %6d ms %5d ms %5d ms   (the JVM alone, start to exit: java %s -version)%n",
                    "floor: an empty JVM", floor[runs / 2], floor[0], floor[runs - 1], String.join(" ", LAUNCHER_FLAGS));
            System.out.printf(Locale.ROOT, "%-34s %8s %8s %8s   %s%n", "JVM settings (" + runs + " runs each)",
                    "median", "min", "max", "under 0.5 s (median)");
            for (Config c : configs) {
                long[] s = c.millis.clone();
                Arrays.sort(s);
                long median = s[s.length / 2];
                System.out.printf(Locale.ROOT, "%-34s %6d ms %5d ms %5d ms   %s%n", c.name, median, s[0],
                        s[s.length - 1], median < 500 ? "yes" : "no");
                System.out.println("    " + (c.jvmOptions == null ? "command: " + String.join(" ", launcherCommand.subList(0, 2))
                        + " ... (NATPUNCH_CACHE_DIR=<fresh directory>)" : "options: " + (c.jvmOptions.isEmpty() ? "(none)"
                        : String.join(" ", c.jvmOptions).replace(dir.toString() + "/", ""))));
            }
            System.out.printf(Locale.ROOT, "%-34s %6d ms   (before the archive exists; it is made in the background meanwhile)%n",
                    "bin/natpunch, first use", firstUse);
            System.out.println();
            timeline(launcherCds, clientArgs, arrivals, dir);
            System.out.println("load average at end: " + LoadGenerator.loadAverage());
            return 0;
        } finally {
            try (var files = Files.walk(dir)) {
                for (Path f : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /** A training run: start, let it send and retry for a while, then stop it so the JVM writes the archive at exit. */
    private static void train(List<String> jvmOptions, List<String> clientArgs, LinkedBlockingQueue<long[]> arrivals)
            throws Exception {
        once(jvmOptions, clientArgs, arrivals, true);
    }

    /**
     * The launcher's first start with an empty cache directory: no archive yet, so it starts one
     * training in the background. Waits (up to 60 s) until the archive is there, so that the
     * measured runs use it, and fails if the training left anything else behind.
     */
    private static long launcherFirstUse(List<String> command, Path cache, LinkedBlockingQueue<long[]> arrivals)
            throws Exception {
        long ms = once(command, cache, arrivals);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            List<String> names = new ArrayList<>();
            if (Files.isDirectory(cache)) {
                try (var files = Files.list(cache)) {
                    files.forEach(f -> names.add(f.getFileName().toString()));
                }
            }
            if (names.size() == 1 && names.get(0).endsWith(".jsa")) {
                System.out.println("bin/natpunch made its archive: " + names.get(0) + ", "
                        + Files.size(cache.resolve(names.get(0))) / 1024 + " KB");
                return ms;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("bin/natpunch made no archive within 60 s of its first start; " + cache + " holds " + names);
            }
            Thread.sleep(100);
        }
    }

    /**
     * Like {@link #once(List, List, LinkedBlockingQueue, boolean)}, for the launcher script with
     * {@code NATPUNCH_CACHE_DIR=cache}; its output must hold nothing from the JVM about the archive.
     */
    private static long once(List<String> launcherCommand, Path cache, LinkedBlockingQueue<long[]> arrivals)
            throws Exception {
        Path output = cache.resolveSibling("launcher.out");
        ProcessBuilder pb = new ProcessBuilder(launcherCommand).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().put("NATPUNCH_CACHE_DIR", cache.toString());
        pb.environment().remove("NATPUNCH_JAVA_OPTS");
        long ms = firstDatagram(pb, String.join(" ", launcherCommand), arrivals, false);
        String said = Files.readString(output);
        if (said.contains("cds") || said.contains("archive") || said.contains("warning")) {
            throw new IOException("bin/natpunch printed something about its archive:\n" + said);
        }
        return ms;
    }

    /** Classes whose first load marks a step of the client's start, in the order the client reaches them. */
    private static final String[][] MILESTONES = {
        {"java.lang.Object", "JVM created, loading the JDK"},
        {"dev.natpunch.cli.Main", "main class loaded"},
        {"picocli.CommandLine", "picocli loaded"},
        {"dev.natpunch.cli.ClientCommand", "client command class loaded"},
        {"org.slf4j.LoggerFactory", "slf4j initialising"},
        {"dev.natpunch.client.DefaultPeerResolver", "resolver built (arguments parsed)"},
        {"dev.natpunch.wireguard.UapiBackend", "WireGuard access (UAPI)"},
        {"com.sun.jna.Native", "JNA (raw socket) loading"},
        {"dev.natpunch.net.LinuxLibc", "libc bound through JNA"},
        {"dev.natpunch.crypto.X25519", "X25519 class init starts (BouncyCastle precompute)"},
        {"dev.natpunch.crypto.SymmetricState", "X25519 ready, Noise state built"},
        {"dev.natpunch.crypto.NoiseHandshake", "Noise handshake started"},
        {"dev.natpunch.protocol.HandshakeInitiation", "handshake message 1 encoded"},
    };

    /**
     * One more run with {@code -Xlog:class+load} to show where the time goes: the JVM uptime at
     * the first load of each milestone class, and the first datagram's arrival.
     */
    private static void timeline(List<String> jvmOptions, List<String> clientArgs, LinkedBlockingQueue<long[]> arrivals,
                                 Path dir) throws Exception {
        Path log = dir.resolve("class-load.log");
        List<String> opts = new ArrayList<>(jvmOptions);
        opts.add("-Xlog:class+load=info:file=" + log + ":uptimenanos");
        long first = once(opts, clientArgs, arrivals, false);
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        System.out.println("where the time goes (JVM uptime at the first load of each class; one run with "
                + String.join(" ", jvmOptions).replace(dir.toString() + "/", "") + " -Xlog:class+load):");
        List<Object[]> found = new ArrayList<>();
        for (String[] m : MILESTONES) {
            String needle = " " + m[0] + " ";
            for (String line : lines) {
                if (line.contains(needle)) {
                    found.add(new Object[] {Long.parseLong(line.substring(1, line.indexOf("ns]"))), m});
                    break;
                }
            }
        }
        found.sort((a, b) -> Long.compare((Long) a[0], (Long) b[0]));
        for (Object[] f : found) {
            String[] m = (String[]) f[1];
            System.out.printf(Locale.ROOT, "  %6.0f ms  %s (%s)%n", (Long) f[0] / 1e6, m[1], m[0]);
        }
        System.out.printf(Locale.ROOT, "  %6d ms  first datagram at the listener, from process creation (logging slows this run)%n",
                first);
        long shared = lines.stream().filter(l -> l.contains("shared objects file")).count();
        System.out.printf(Locale.ROOT, "  %d classes loaded by then or soon after, %d of them from a CDS archive%n",
                lines.size(), shared);
    }

    /**
     * Starts the client and returns the milliseconds from just before the process is created to
     * the arrival of its first handshake initiation (109 bytes, or up to 365 with a version 2
     * offer) from the WireGuard port.
     */
    private static long once(List<String> jvmOptions, List<String> clientArgs, LinkedBlockingQueue<long[]> arrivals,
                             boolean letItWriteAnArchive) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ChildServer.javaBinary());
        cmd.addAll(jvmOptions);
        cmd.addAll(clientArgs);
        return firstDatagram(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD),
                String.join(" ", cmd), arrivals, letItWriteAnArchive);
    }

    private static long firstDatagram(ProcessBuilder pb, String cmd, LinkedBlockingQueue<long[]> arrivals,
                                      boolean letItWriteAnArchive) throws Exception {
        arrivals.clear();
        long start = System.nanoTime();
        Process p = pb.start();
        try {
            long deadline = start + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                long[] a = arrivals.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (a == null) {
                    throw new IOException("no datagram from the client within 20 s: " + cmd);
                }
                if (a[0] >= start && a[1] == LISTEN_PORT && a[2] == 1 && a[3] >= 109 && a[3] <= 365) {
                    return TimeUnit.NANOSECONDS.toMillis(a[0] - start);
                }
            }
        } finally {
            if (letItWriteAnArchive) {
                // SIGTERM: the JVM runs its exit path, where it writes the archive (the client's own
                // shutdown takes a few seconds).
                p.destroy();
            } else {
                p.destroyForcibly();
            }
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /** Milliseconds from creating {@code java <launcher flags> -version} to its exit. */
    private static long jvmFloor() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ChildServer.javaBinary());
        cmd.addAll(LAUNCHER_FLAGS);
        cmd.add("-version");
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.waitFor();
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    /** Timestamps every datagram: {arrival nanoTime, source port, first byte, length}. */
    private static void receive(DatagramSocket socket, LinkedBlockingQueue<long[]> arrivals) {
        byte[] buf = new byte[2048];
        DatagramPacket packet = new DatagramPacket(buf, buf.length);
        while (true) {
            try {
                packet.setLength(buf.length);
                socket.receive(packet);
                long now = System.nanoTime();
                arrivals.add(new long[] {now, packet.getPort(), packet.getLength() > 0 ? buf[0] : -1, packet.getLength()});
            } catch (SocketException e) {
                return;
            } catch (IOException e) {
                // Keep listening.
            }
        }
    }
}
