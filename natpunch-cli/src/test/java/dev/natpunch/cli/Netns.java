package dev.natpunch.cli;

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
 * A network namespace of its own (loopback only) with real wireguard-go interfaces, for tests of
 * the command line as root runs it. Names carry a random token so that concurrent runs do not
 * collide; {@link #close()} kills the daemons, removes their sockets and deletes the namespace,
 * also after a failed start.
 */
final class Netns implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    final String name;
    private final String token;
    private final List<Process> daemons = new ArrayList<>();
    private final List<String> interfaces = new ArrayList<>();
    private boolean created;

    private Netns(String token) {
        this.token = token;
        this.name = "npc-" + token;
    }

    /** Skips the calling test unless root, ip, wg and wireguard-go are all here. */
    static void assumeAvailable() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for network namespaces");
        for (String tool : List.of("ip", "wg", "wireguard-go", "setpriv")) {
            assumeTrue(onPath(tool), "needs '" + tool + "' on the PATH");
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin:/usr/sbin:/sbin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    static Netns create() throws IOException {
        Netns ns = new Netns(Integer.toString(0x100000 + RANDOM.nextInt(0xefffff), 36));
        try {
            run("ip", "netns", "add", ns.name);
            ns.created = true;
            run("ip", "-n", ns.name, "link", "set", "lo", "up");
            return ns;
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    /** The prefix that runs a command inside the namespace. */
    List<String> exec() {
        return List.of("ip", "netns", "exec", name);
    }

    /** Starts wireguard-go on a new interface named {@code npc<token><suffix>}, up, and returns its name. */
    String wireguardGo(String suffix) throws IOException, InterruptedException {
        String ifname = "npc" + token + suffix;
        ProcessBuilder pb = new ProcessBuilder("ip", "netns", "exec", name, "wireguard-go", ifname);
        pb.environment().put("WG_PROCESS_FOREGROUND", "1");
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process daemon = pb.start();
        daemons.add(daemon);
        interfaces.add(ifname);
        Path socket = socket(ifname);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket)) {
            if (!daemon.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("wireguard-go did not create " + socket);
            }
            Thread.sleep(20);
        }
        run("ip", "-n", name, "link", "set", ifname, "up");
        return ifname;
    }

    /** Runs {@code wg args} inside the namespace; a private key is passed through a 0600 file. */
    String wg(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(exec());
        cmd.add("wg");
        cmd.addAll(List.of(args));
        return run(cmd.toArray(new String[0]));
    }

    /** Sets an interface's private key and listen port, as {@code wg set} does (key from a file). */
    void setKey(String ifname, String privateKeyBase64, int listenPort) throws IOException {
        Path key = Files.createTempFile("npc-key", ".txt",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(key, privateKeyBase64 + "\n");
            wg("set", ifname, "private-key", key.toString(), "listen-port", Integer.toString(listenPort));
        } finally {
            Files.deleteIfExists(key);
        }
    }

    static Path socket(String ifname) {
        return Path.of("/var/run/wireguard", ifname + ".sock");
    }

    static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " hung");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " interrupted");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + text);
        }
        return text;
    }

    @Override
    public void close() throws IOException {
        try {
            for (Process d : daemons) {
                d.destroy();
                try {
                    if (!d.waitFor(5, TimeUnit.SECONDS)) {
                        d.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            for (String ifname : interfaces) {
                Files.deleteIfExists(socket(ifname));
            }
        } finally {
            if (created) {
                run("ip", "netns", "del", name);
            }
        }
    }
}
