package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real wireguard-go interface in a fresh network namespace, for tests. The names carry the
 * "npw" prefix and a random suffix so parallel runs do not collide; the UAPI socket is global
 * (/var/run/wireguard/&lt;if&gt;.sock), which is why the test JVM in the root namespace reaches a
 * device living in another namespace. {@link #close()} kills the daemon, removes its socket and
 * deletes the namespace, and is safe to call after a failed start.
 */
public final class WireguardGoDevice implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    public final String namespace;
    public final String interfaceName;
    private Process daemon;
    private boolean namespaceCreated;

    private WireguardGoDevice(String suffix) {
        this.namespace = "npw-" + suffix;
        this.interfaceName = "npw" + suffix;
    }

    /** Skips the calling test, with the reason, unless root, ip, wg and wireguard-go are all here. */
    public static void assumeAvailable() {
        assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root to create network namespaces and run wireguard-go");
        for (String tool : List.of("ip", "wg", "wireguard-go")) {
            assumeTrue(onPath(tool), "needs '" + tool + "' on the PATH (apt install wireguard-go wireguard-tools iproute2)");
        }
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin:/usr/sbin:/sbin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    public static WireguardGoDevice start() throws Exception {
        String suffix = Integer.toString(0x100000 + RANDOM.nextInt(0xefffff), 36);
        WireguardGoDevice d = new WireguardGoDevice(suffix);
        try {
            run("ip", "netns", "add", d.namespace);
            d.namespaceCreated = true;
            ProcessBuilder pb = new ProcessBuilder("ip", "netns", "exec", d.namespace, "wireguard-go", d.interfaceName);
            pb.environment().put("WG_PROCESS_FOREGROUND", "1");
            pb.redirectErrorStream(true);
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            d.daemon = pb.start();
            Path socket = d.socket();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(socket)) {
                if (!d.daemon.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("wireguard-go did not create " + socket);
                }
                Thread.sleep(20);
            }
            return d;
        } catch (Exception e) {
            d.close();
            throw e;
        }
    }

    Path socket() {
        return Path.of("/var/run/wireguard", interfaceName + ".sock");
    }

    /** Runs {@code wg <args>} inside the namespace and returns its standard output. */
    public String wg(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace, "wg"));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(new String[0]));
    }

    /** {@code wg show <if> dump}, the independent truth the backends are checked against. */
    public String dump() throws IOException {
        return wg("show", interfaceName, "dump");
    }

    /** Writes a private key to a file only root can read, as wg requires keys to come from files. */
    public static Path privateKeyFile(String base64) throws IOException {
        Path f = Files.createTempFile("npw-key", ".txt",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, base64 + "\n");
        return f;
    }

    public static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!waitFor(p, 20)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " hung");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + text);
        }
        return text;
    }

    /** Waits for the process; an interrupt is kept for the caller and counts as "not finished". */
    private static boolean waitFor(Process p, int seconds) {
        try {
            return p.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (daemon != null) {
                daemon.destroy();
                if (!waitFor(daemon, 5)) {
                    daemon.destroyForcibly();
                    waitFor(daemon, 5);
                }
            }
            Files.deleteIfExists(socket());
        } finally {
            if (namespaceCreated) {
                run("ip", "netns", "del", namespace);
            }
        }
    }
}
