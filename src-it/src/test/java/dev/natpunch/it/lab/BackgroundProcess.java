package dev.natpunch.it.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A process running in a lab namespace in its own session and process group, with stdout and
 * stderr merged into a log file. {@link #close()} (and the lab's close) kills the whole group, so
 * children the process forked die with it.
 */
public final class BackgroundProcess implements AutoCloseable {
    private static final Duration GRACE = Duration.ofSeconds(2);

    private final String description;
    private final Process process;
    private final Path log;

    BackgroundProcess(String description, Process process, Path log) {
        this.description = description;
        this.process = process;
        this.log = log;
    }

    /** Also the process group id: the process was started by {@code setsid}. */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything the process has written to stdout and stderr so far. */
    public String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until a line of output matches {@code pattern} (by {@link Matcher#find()}) and returns
     * the match, or empty when the process exits or {@code timeout} passes first.
     */
    public Optional<MatchResultLine> awaitLine(Pattern pattern, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean alive = process.isAlive();
            for (String line : output().split("\n", -1)) {
                Matcher m = pattern.matcher(line);
                if (m.find()) {
                    return Optional.of(new MatchResultLine(line, m.toMatchResult()));
                }
            }
            if (!alive || System.nanoTime() > deadline) {
                return Optional.empty();
            }
            sleep(Duration.ofMillis(50));
        }
    }

    /**
     * Waits for the process to exit and returns its exit status, or empty if it is still running
     * after {@code timeout} (it is left running).
     */
    public OptionalInt awaitExit(Duration timeout) {
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return OptionalInt.of(process.exitValue());
            }
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted", e);
        }
    }

    /** The number of output lines matching {@code pattern} (by {@link Matcher#find()}) so far. */
    public long countLines(Pattern pattern) {
        return output().lines().filter(l -> pattern.matcher(l).find()).count();
    }

    /** A line of output and the match found in it. */
    public record MatchResultLine(String line, java.util.regex.MatchResult match) {
        public String group(int i) {
            return match.group(i);
        }
    }

    /**
     * Freezes the process group (SIGSTOP), as a hung or swapped-out process: its sockets stay
     * open and the kernel queues what arrives until {@link #resume()}.
     */
    public void pause() {
        signalGroup("STOP");
    }

    /** Lets a {@link #pause() paused} process group run again (SIGCONT). */
    public void resume() {
        signalGroup("CONT");
    }

    /**
     * Kills the process group at once (SIGKILL), as a crash would: no shutdown hooks, no goodbye
     * packets. Waits until the process is gone.
     */
    public void kill() {
        signalGroup("KILL");
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        if (awaitExit(GRACE.multipliedBy(5)).isEmpty()) {
            throw new LabException(this + " survived SIGKILL");
        }
    }

    /**
     * CPU time (user + system) the process itself has used so far, from {@code /proc/PID/stat},
     * in clock ticks of Linux's fixed USER_HZ (100 per second); empty once it has exited and been reaped.
     */
    public Optional<Duration> cpuTime() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
            // the command name (field 2) may contain spaces and parentheses: count from the last ')'
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            return Optional.of(Duration.ofMillis(ticks * 10));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Sends SIGTERM to the process group, then SIGKILL to what is left after a grace period.
     * Safe to call more than once.
     */
    @Override
    public void close() {
        if (!process.isAlive() && process.descendants().findAny().isEmpty()) {
            return;
        }
        signalGroup("TERM");
        try {
            process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        signalGroup("KILL");
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void signalGroup(String signal) {
        try {
            Process kill = new ProcessBuilder(List.of("kill", "-" + signal, "--", "-" + process.pid()))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            kill.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return description + " [pid " + process.pid() + "]";
    }
}
