package dev.natpunch.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ReplayWindowTest {
    @Test
    void windowIsNatpunchGoSize() {
        assertEquals(960, ReplayWindow.WINDOW_SIZE);
    }

    @Test
    void counterZeroIsAcceptedOnce() {
        ReplayWindow w = new ReplayWindow();
        assertTrue(w.accept(0));
        assertFalse(w.accept(0));
    }

    @Test
    void replaysAreRejected() {
        ReplayWindow w = new ReplayWindow();
        for (long i = 0; i < 3000; i++) {
            assertTrue(w.accept(i));
            assertFalse(w.accept(i));
            if (i > 0) {
                assertFalse(w.accept(i - 1));
            }
        }
    }

    @Test
    void outOfOrderInsideTheWindowIsAcceptedOnce() {
        ReplayWindow w = new ReplayWindow();
        assertTrue(w.accept(1000));
        for (long i = 999; i >= 1000 - 960; i--) {
            assertTrue(w.accept(i), "counter " + i);
        }
        for (long i = 1000; i >= 1000 - 960; i--) {
            assertFalse(w.accept(i), "replayed counter " + i);
        }
        assertFalse(w.accept(1000 - 961), "too old");
        assertFalse(w.accept(0), "too old");
        assertTrue(w.accept(1001));
    }

    @Test
    void tooOldCountersAreRejectedEvenIfNeverSeen() {
        ReplayWindow w = new ReplayWindow();
        assertTrue(w.accept(5000));
        assertFalse(w.accept(5000 - 961));
        assertFalse(w.accept(3));
        assertTrue(w.accept(5000 - 960));
    }

    @Test
    void gapsAreRememberedAndFilledOnce() {
        ReplayWindow w = new ReplayWindow();
        for (long i = 0; i < 500; i += 2) {
            assertTrue(w.accept(i));
        }
        for (long i = 1; i < 500; i += 2) {
            assertTrue(w.accept(i));
        }
        for (long i = 0; i < 500; i++) {
            assertFalse(w.accept(i));
        }
    }

    @Test
    void farJumpsAheadClearTheWindow() {
        ReplayWindow w = new ReplayWindow();
        assertTrue(w.accept(10));
        assertTrue(w.accept(1_000_000));
        assertFalse(w.accept(10));
        assertTrue(w.accept(1_000_000 - 64), "a slot reused from an old block must be cleared");
        assertTrue(w.accept(1_000_000 - 1));
        assertFalse(w.accept(1_000_000));
        assertTrue(w.accept(Long.MAX_VALUE));
        assertFalse(w.accept(Long.MAX_VALUE));
        assertTrue(w.accept(Long.MAX_VALUE - 960));
        assertFalse(w.accept(1_000_000));
    }

    @Test
    void advancingOneBlockAtATimeClearsReusedSlots() {
        ReplayWindow w = new ReplayWindow();
        // Mark counter 5 of every block, then come back to the same slots 16 blocks later.
        for (long i = 5; i < 64 * 40; i += 64) {
            assertTrue(w.accept(i), "counter " + i);
        }
        for (long i = 64 * 40 - 1; i >= 64 * 40 - 1 - 960; i--) {
            if ((i & 63) != 5) {
                assertTrue(w.accept(i), "counter " + i);
            } else {
                assertFalse(w.accept(i), "counter " + i);
            }
        }
    }

    @Test
    void negativeCountersAreRejected() {
        ReplayWindow w = new ReplayWindow();
        assertFalse(w.accept(-1));
        assertFalse(w.accept(Long.MIN_VALUE));
        assertTrue(w.accept(0));
    }

    @Test
    void racingThreadsAcceptACounterExactlyOnce() throws Exception {
        ReplayWindow w = new ReplayWindow();
        int rounds = 2000;
        CyclicBarrier barrier = new CyclicBarrier(2);
        AtomicInteger accepted = new AtomicInteger();
        Runnable racer = () -> {
            try {
                for (int i = 0; i < rounds; i++) {
                    barrier.await();
                    if (w.accept(i)) {
                        accepted.incrementAndGet();
                    }
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        Thread a = new Thread(racer);
        Thread b = new Thread(racer);
        a.start();
        b.start();
        a.join();
        b.join();
        assertEquals(rounds, accepted.get());
    }
}
