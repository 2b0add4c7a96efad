package dev.natpunch.relay;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/** An immutable snapshot of a {@link Relay}'s counters, taken by {@link Relay#metrics()}. */
public final class RelayMetrics {
    private final long allocations;
    private final long pending;
    private final long allocationsCreated;
    private final long allocationsExpired;
    private final long binds;
    private final long datagramsForwarded;
    private final long bytesForwarded;
    private final long unavailable;
    private final Map<RelayDropReason, Long> drops;

    RelayMetrics(long allocations, long pending, long allocationsCreated, long allocationsExpired, long binds,
                 long datagramsForwarded, long bytesForwarded, long unavailable, EnumMap<RelayDropReason, Long> drops) {
        this.allocations = allocations;
        this.pending = pending;
        this.allocationsCreated = allocationsCreated;
        this.allocationsExpired = allocationsExpired;
        this.binds = binds;
        this.datagramsForwarded = datagramsForwarded;
        this.bytesForwarded = bytesForwarded;
        this.unavailable = unavailable;
        this.drops = Collections.unmodifiableMap(new EnumMap<>(drops));
    }

    /** Allocations (ready pairs) that exist now; each holds two ports. */
    public long allocations() {
        return allocations;
    }

    /** One-sided requests waiting for the other side now. */
    public long pending() {
        return pending;
    }

    /** Allocations made since start. */
    public long allocationsCreated() {
        return allocationsCreated;
    }

    /** Allocations ended by the idle timeout since start (not counting releases). */
    public long allocationsExpired() {
        return allocationsExpired;
    }

    /** Bind datagrams accepted since start (first binds and re-binds). */
    public long binds() {
        return binds;
    }

    /** Datagrams forwarded since start, both directions. */
    public long datagramsForwarded() {
        return datagramsForwarded;
    }

    /** UDP payload bytes forwarded since start, both directions. */
    public long bytesForwarded() {
        return bytesForwarded;
    }

    /** Requests answered UNAVAILABLE since start. */
    public long unavailable() {
        return unavailable;
    }

    /** Dropped datagrams by reason; every reason is present, most with 0. */
    public Map<RelayDropReason, Long> drops() {
        return drops;
    }

    /** Dropped datagrams with the given reason. */
    public long drops(RelayDropReason reason) {
        return drops.get(reason);
    }

    /** All dropped datagrams. */
    public long totalDrops() {
        long sum = 0;
        for (long n : drops.values()) {
            sum += n;
        }
        return sum;
    }

    @Override
    public String toString() {
        return "RelayMetrics[allocations=" + allocations + ", pending=" + pending + ", created=" + allocationsCreated
                + ", expired=" + allocationsExpired + ", binds=" + binds + ", forwarded=" + datagramsForwarded
                + " datagrams/" + bytesForwarded + " bytes, unavailable=" + unavailable + ", drops=" + drops + "]";
    }
}
