package dev.natpunch.bench.load;

import dev.natpunch.crypto.Key;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server run as a child JVM, so its CPU time and memory can be read from /proc apart from the
 * generator's: our rendezvous server as shipped ({@code java -jar natpunch.jar server 0 --bind
 * 127.0.0.1}) or the {@link EchoServer}. Learns the port (and key) from the server's start-up lines.
 */
final class ChildServer implements AutoCloseable {
    private static final String PORT_LINE = "Starting nat-punching server on port ";
    private static final String KEY_LINE = "Public key: ";

    final Process process;
    final InetSocketAddress address;
    final Key publicKey;
    final String command;

    private ChildServer(Process process, InetSocketAddress address, Key publicKey, String command) {
        this.process = process;
        this.address = address;
        this.publicKey = publicKey;
        this.command = command;
    }

    long pid() {
        return process.pid();
    }

    /**
     * Our server from the CLI jar; {@code logLevel} is slf4j-simple's default level (the CLI logs
     * each lookup at info). The per-source handshake rate limit is off: every simulated client
     * sends from 127.0.0.1, which the limit would treat as one host.
     */
    static ChildServer rendezvous(String serverJar, List<String> jvmOptions, String logLevel) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(jvmOptions);
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=" + logLevel);
        cmd.add("-jar");
        cmd.add(serverJar);
        cmd.add("server");
        cmd.add("0");
        cmd.add("--bind");
        cmd.add("127.0.0.1");
        cmd.add("--handshake-rate");
        cmd.add("0");
        Process p = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            Key key = null;
            String line;
            while ((port < 0 || key == null) && (line = r.readLine()) != null) {
                if (line.startsWith(PORT_LINE)) {
                    port = Integer.parseInt(line.substring(PORT_LINE.length()).trim());
                } else if (line.startsWith(KEY_LINE)) {
                    key = Key.fromBase64(line.substring(KEY_LINE.length()).trim());
                }
            }
            if (port < 0 || key == null) {
                throw new IOException("the server did not print its port and key: " + String.join(" ", cmd));
            }
            drain(r);
            return new ChildServer(p, new InetSocketAddress("127.0.0.1", port), key, String.join(" ", cmd));
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /** The echo server from this module's jar, with {@code threads} receiving threads (the real server has one per socket). */
    static ChildServer echo(List<String> jvmOptions, int threads) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(EchoServer.class.getName());
        cmd.add("0");
        cmd.add("--threads");
        cmd.add(Integer.toString(threads));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = r.readLine();
            if (line == null || !line.startsWith(EchoServer.READY_PREFIX)) {
                throw new IOException("the echo server did not start: " + line);
            }
            String hostPort = line.substring(EchoServer.READY_PREFIX.length()).split(" ")[0];
            int colon = hostPort.lastIndexOf(':');
            drain(r);
            return new ChildServer(p, new InetSocketAddress(hostPort.substring(0, colon),
                    Integer.parseInt(hostPort.substring(colon + 1))), null, String.join(" ", cmd));
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /** Keeps reading the child's standard output so it never blocks on a full pipe. */
    private static void drain(BufferedReader r) {
        Thread t = new Thread(() -> {
            try {
                while (r.readLine() != null) {
                    // Discarded: the server's start-up lines were all we needed.
                }
            } catch (IOException e) {
                // The child ended.
            }
        }, "npb-child-stdout");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The server's used Java heap right after a full GC, in KB, by {@code jcmd <pid> GC.run} and
     * {@code GC.heap_info}: what its live objects take, which RSS cannot show (the JVM keeps freed
     * heap). -1 if jcmd is unavailable or its output unrecognised.
     */
    long liveHeapKb() {
        String jcmd = System.getProperty("java.home") + File.separator + "bin" + File.separator + "jcmd";
        try {
            run(jcmd, Long.toString(pid()), "GC.run");
            String info = run(jcmd, Long.toString(pid()), "GC.heap_info");
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("used (\\d+)K").matcher(info);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return text;
    }

    static String javaBinary() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
