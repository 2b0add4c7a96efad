package dev.natpunch.net;

import com.sun.jna.Platform;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Root checks and per-thread privilege and namespace switches for tests. */
final class Privileges {

    private Privileges() {}

    static boolean isRoot() {
        return Platform.isLinux() && TestLibc.INSTANCE.geteuid() == 0;
    }

    /**
     * Runs {@code task} on a fresh thread that has CAP_NET_RAW removed from its effective set.
     * Linux keeps capabilities per thread, so the rest of the JVM is unaffected.
     */
    static <T> T withoutNetRaw(Callable<T> task) throws Exception {
        return onFreshThread(() -> {
            int[] header = {TestLibc.LINUX_CAPABILITY_VERSION_3, 0};
            int[] data = new int[6];
            TestLibc.INSTANCE.capget(header, data);
            data[0] &= ~(1 << TestLibc.CAP_NET_RAW);
            TestLibc.INSTANCE.capset(header, data);
            return task.call();
        });
    }

    /**
     * Runs {@code task} on a fresh thread inside network namespace {@code name} (from
     * {@code ip netns add}); sockets it creates stay in that namespace whichever thread uses them.
     */
    static <T> T inNamespace(String name, Callable<T> task) throws Exception {
        return onFreshThread(() -> {
            int fd = TestLibc.INSTANCE.open("/run/netns/" + name, TestLibc.O_RDONLY | TestLibc.O_CLOEXEC);
            try {
                TestLibc.INSTANCE.setns(fd, TestLibc.CLONE_NEWNET);
            } finally {
                TestLibc.INSTANCE.close(fd);
            }
            return task.call();
        });
    }

    /** The thread ends afterwards, so whatever it changed about itself dies with it. */
    private static <T> T onFreshThread(Callable<T> task) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "npn-test-privileged");
        t.start();
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }
}
