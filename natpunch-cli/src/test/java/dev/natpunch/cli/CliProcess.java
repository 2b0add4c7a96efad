package dev.natpunch.cli;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The command line in a JVM of its own, as a user runs it: under {@code ip netns exec},
 * {@code setpriv} or any other prefix, with its output kept in files so that a test can read
 * everything it printed, also after it was killed.
 */
final class CliProcess implements AutoCloseable {
    private final Process process;
    private final Path out;
    private final Path err;

    private CliProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** The classpath of this test JVM, expanded from surefire's manifest-only jar if it is one. */
    static List<String> classpath() throws IOException {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            entries.add(e);
            if (e.endsWith(".jar") && Path.of(e).getFileName().toString().startsWith("surefirebooter")) {
                try (JarFile jar = new JarFile(e)) {
                    String cp = jar.getManifest().getMainAttributes().getValue("Class-Path");
                    for (String url : cp.trim().split("\\s+")) {
                        entries.add(Path.of(URI.create(url)).toString());
                    }
                }
            }
        }
        return entries;
    }

    /**
     * The jars and class directories the command line needs at run time, copied into {@code dir}
     * (which other users can read), for runs as an unprivileged user who cannot read ~/.m2.
     */
    static String copyRuntimeClasspath(Path dir) throws IOException {
        List<String> copied = new ArrayList<>();
        int n = 0;
        for (String e : classpath()) {
            Path p = Path.of(e);
            String name = p.toString();
            boolean runtime = name.contains("natpunch-core") || name.contains("natpunch-cli")
                    || name.contains("picocli") || name.contains("slf4j") || name.contains("/jna")
                    || name.contains("bcprov");
            if (!runtime || name.contains("test-classes") || !Files.exists(p)) {
                continue;
            }
            Path target = dir.resolve((n++) + "-" + p.getFileName());
            if (Files.isDirectory(p)) {
                try (Stream<Path> files = Files.walk(p)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.copy(f, target.resolve(p.relativize(f).toString()));
                    }
                }
            } else {
                Files.copy(p, target);
            }
            copied.add(target.toString());
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                f.toFile().setReadable(true, false);
                if (Files.isDirectory(f)) {
                    f.toFile().setExecutable(true, false);
                }
            }
        }
        return String.join(File.pathSeparator, copied);
    }

    /** Starts {@code prefix java -cp <classpath> dev.natpunch.cli.Main args}. */
    static CliProcess startWithClasspath(List<String> prefix, String classpath, String stdin, String... args)
            throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-cp");
        command.add(classpath);
        command.add("dev.natpunch.cli.Main");
        command.addAll(List.of(args));
        Path out = Files.createTempFile("npc-out", ".txt");
        Path err = Files.createTempFile("npc-err", ".txt");
        Path in = Files.createTempFile("npc-in", ".txt");
        Files.writeString(in, stdin);
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(in.toFile());
        try {
            return new CliProcess(pb.start(), out, err);
        } finally {
            Files.delete(in);
        }
    }

    static CliProcess start(List<String> prefix, String stdin, String... args) throws IOException {
        return startWithClasspath(prefix, String.join(File.pathSeparator, classpath()), stdin, args);
    }

    /** Waits for the exit, killing the process after {@code seconds}; returns the exit status. */
    int await(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("the command did not finish within " + seconds + " s; it printed:\n"
                    + out() + "\n" + err());
        }
        return process.exitValue();
    }

    /** Waits until standard output has a line starting with {@code prefix}, and returns it. */
    String awaitLine(String prefix, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            for (String line : out().split("\n")) {
                if (line.startsWith(prefix)) {
                    return line;
                }
            }
            if (!process.isAlive()) {
                break;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no line '" + prefix + "...' from the command; it printed:\n" + out() + "\n" + err());
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String out() {
        return read(out);
    }

    String err() {
        return read(err);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** Stops the process (SIGTERM, then SIGKILL) and deletes its output files. */
    @Override
    public void close() throws IOException, InterruptedException {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
