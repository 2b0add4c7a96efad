package dev.natpunch.bench.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * CPU time and memory of a process from Linux's {@code /proc/<pid>/stat} and {@code /proc/<pid>/status},
 * so the server is measured from outside, whatever it is written in.
 */
final class ProcStats {
    /** Clock ticks per second of stat's utime/stime; USER_HZ is 100 on every Linux architecture we run on. */
    private static final long TICKS_PER_SECOND = ticksPerSecond();

    final long cpuNanos;
    final long rssKb;
    final long peakRssKb;
    final int threads;

    private ProcStats(long cpuNanos, long rssKb, long peakRssKb, int threads) {
        this.cpuNanos = cpuNanos;
        this.rssKb = rssKb;
        this.peakRssKb = peakRssKb;
        this.threads = threads;
    }

    /** The process's state now, or null if it is gone or /proc is unreadable. */
    static ProcStats read(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            // f[0] is field 3 (state); utime and stime are fields 14 and 15.
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            long rss = 0;
            long hwm = 0;
            int threads = 0;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("VmRSS:")) {
                    rss = kb(line);
                } else if (line.startsWith("VmHWM:")) {
                    hwm = kb(line);
                } else if (line.startsWith("Threads:")) {
                    threads = Integer.parseInt(line.substring(8).trim());
                }
            }
            return new ProcStats(ticks * TimeUnit.SECONDS.toNanos(1) / TICKS_PER_SECOND, rss, hwm, threads);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static long ticksPerSecond() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }
}
