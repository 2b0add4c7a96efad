package dev.natpunch.server;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hands out endpoint-set versions (protocol-v2.md 6.1): max(previous + 1, now in milliseconds
 * mod 2^32), compared in 32-bit serial arithmetic. One clock serves the whole server, so a key's
 * versions keep growing across its re-registrations, and a clock that steps back never makes a
 * version repeat.
 */
final class VersionClock {
    private final AtomicInteger last;

    VersionClock(long nowMillis) {
        last = new AtomicInteger((int) nowMillis - 1);
    }

    int next(long nowMillis) {
        while (true) {
            int previous = last.get();
            int candidate = (int) nowMillis;
            int next = candidate - previous > 0 ? candidate : previous + 1;
            if (last.compareAndSet(previous, next)) {
                return next;
            }
        }
    }

    /** Whether {@code a} is newer than {@code b} in serial-number arithmetic (RFC 1982). */
    static boolean newer(int a, int b) {
        return a - b > 0;
    }
}
