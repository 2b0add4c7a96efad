package dev.natpunch.cli;

import java.util.concurrent.CountDownLatch;

/** How the long-running commands (server, relay) wait for their end. */
final class Shutdown {
    private Shutdown() {
    }

    /**
     * Blocks until the JVM shuts down (Ctrl-C, SIGTERM), then closes {@code running} in order, on
     * the shutdown hook's thread, so that sockets are released and threads end before the JVM
     * exits. Closing twice is fine for everything passed here: callers also close in
     * try-with-resources.
     */
    static void await(AutoCloseable... running) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (AutoCloseable c : running) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // The JVM is going away; what did not close ends with it.
                }
            }
            stopped.countDown();
        }, "natpunch-shutdown"));
        stopped.await();
    }
}
