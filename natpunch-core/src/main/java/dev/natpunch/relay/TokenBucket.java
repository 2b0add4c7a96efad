package dev.natpunch.relay;

/**
 * Bytes per second with bursts, on a millisecond clock. Tokens are kept in thousandths of a byte
 * so that refills of a few milliseconds at a low rate are not rounded away. Not thread-safe: an
 * allocation's bucket is only touched by the forwarding thread that serves both its ports.
 */
final class TokenBucket {
    /** Keeps {@code burst * 1000} far from overflow. */
    static final long MAX_BURST = Long.MAX_VALUE / 4000;

    private final long bytesPerSecond;
    private final long capacity;
    private final long fullAfterMillis;
    private long tokens;
    private long lastMillis;

    TokenBucket(long bytesPerSecond, long burstBytes, long nowMillis) {
        if (bytesPerSecond < 1 || burstBytes < 1 || burstBytes > MAX_BURST) {
            throw new IllegalArgumentException("rate " + bytesPerSecond + " B/s, burst " + burstBytes + " B");
        }
        this.bytesPerSecond = bytesPerSecond;
        this.capacity = burstBytes * 1000;
        this.fullAfterMillis = capacity / bytesPerSecond + 1;
        this.tokens = capacity;
        this.lastMillis = nowMillis;
    }

    /** Takes {@code bytes} if the bucket holds that many; a clock that goes back refills nothing. */
    boolean tryTake(int bytes, long nowMillis) {
        long elapsed = nowMillis - lastMillis;
        if (elapsed > 0) {
            tokens = elapsed >= fullAfterMillis ? capacity : Math.min(capacity, tokens + elapsed * bytesPerSecond);
            lastMillis = nowMillis;
        }
        long need = bytes * 1000L;
        if (tokens < need) {
            return false;
        }
        tokens -= need;
        return true;
    }
}
