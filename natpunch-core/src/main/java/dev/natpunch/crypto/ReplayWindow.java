package dev.natpunch.crypto;

/**
 * RFC 6479 sliding anti-replay window, the same size as natpunch-go's: a ring of 16 blocks of
 * 64 bits, of which 15 are always usable, so counters up to 960 behind the highest one seen are
 * still accepted once each.
 *
 * <p>Thread-safe. Call {@link #accept} only after the message's AEAD tag verified, otherwise a
 * forged counter would move the window.
 */
public final class ReplayWindow {
    private static final int BLOCK_BITS_LOG = 6;
    private static final int BLOCK_BITS = 1 << BLOCK_BITS_LOG;
    private static final int RING_BLOCKS = 16;
    private static final int BLOCK_MASK = RING_BLOCKS - 1;
    private static final int BIT_MASK = BLOCK_BITS - 1;

    /** How far behind the highest accepted counter a counter may be and still be accepted. */
    public static final int WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

    private final long[] ring = new long[RING_BLOCKS];
    private long last;

    public ReplayWindow() {
    }

    /**
     * Records {@code counter} and returns true if it was not seen before and is not too old;
     * returns false for a replay, a counter more than {@link #WINDOW_SIZE} behind the highest
     * one accepted, or a negative counter (2^63 and above as unsigned: no session gets there).
     */
    public synchronized boolean accept(long counter) {
        if (counter < 0) {
            return false;
        }
        long blockIndex = counter >>> BLOCK_BITS_LOG;
        if (counter > last) {
            long current = last >>> BLOCK_BITS_LOG;
            long diff = Math.min(blockIndex - current, RING_BLOCKS);
            for (long i = current + 1; i <= current + diff; i++) {
                ring[(int) (i & BLOCK_MASK)] = 0;
            }
            last = counter;
        } else if (last - counter > WINDOW_SIZE) {
            return false;
        }
        int slot = (int) (blockIndex & BLOCK_MASK);
        long bit = 1L << (counter & BIT_MASK);
        long old = ring[slot];
        ring[slot] = old | bit;
        return (old & bit) == 0;
    }
}
