package dev.natpunch.cli;

import dev.natpunch.wireguard.WireguardControl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the client needs from Linux: refused with one line naming the missing capability and the
 * fix before anything is touched, and everything else dropped before the first socket is open
 * (the client opens its sockets again later, so it cannot wait until they are open).
 *
 * <ul>
 *   <li>CAP_NET_RAW always: the raw socket that sends from WireGuard's port. It is kept, because
 *       the resolver opens that socket again whenever the listen port changes or the server stops
 *       answering.</li>
 *   <li>CAP_NET_ADMIN when the kernel's WireGuard may be used (backends {@code netlink},
 *       {@code wg}, and {@code auto} without a userspace socket): netlink changes need it, every
 *       pass. Kept for those backends.</li>
 *   <li>A userspace (wireguard-go) socket is reached by its owner, usually root; a process of
 *       another user needs CAP_DAC_OVERRIDE, which is then kept.</li>
 * </ul>
 */
final class ClientPrivileges {
    private static final Logger LOG = LoggerFactory.getLogger(ClientPrivileges.class);
    private static final String FIX = "run it as root (sudo natpunch client ...), or give it CAP_NET_RAW and"
            + " CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)";

    private ClientPrivileges() {
    }

    /**
     * Runs {@code client} on a thread of its own that holds only the capabilities the client
     * needs, after checking that it has them. Its own thread, because Linux drops capabilities
     * per thread: the caller's keep theirs (in a test JVM, the next test's).
     *
     * @throws IOException with a one-line message naming what is missing and the fix, before
     *     {@code client} runs
     */
    static <T> T callWithLeastPrivilege(String backend, String interfaceName, Callable<T> client) throws Exception {
        long keep = check(backend, interfaceName);
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                if (keep != 0) {
                    long dropped = Capabilities.dropAllBut(keep);
                    LOG.debug("kept {}; dropped {} and set no_new_privs (this thread and what it starts)",
                            Capabilities.names(keep), Capabilities.names(dropped));
                }
                result.complete(client.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "natpunch-client");
        thread.start();
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        } catch (InterruptedException e) {
            thread.interrupt();
            throw e;
        }
    }

    /**
     * Checks the calling thread's capabilities for this backend and interface.
     *
     * @return the capabilities to keep; 0 where there are none to manage (not Linux)
     * @throws IOException with a one-line message naming what is missing and the fix
     */
    static long check(String backend, String interfaceName) throws IOException {
        if (!Files.isReadable(Path.of("/proc/self/status"))) {
            return 0; // Not Linux: the raw socket says so itself.
        }
        Capabilities.Status now = Capabilities.current();
        Path socket = uapiSocket(interfaceName);
        long keep = required(now, backend, socket);
        long missing = keep & ~now.effective();
        if ((missing & Capabilities.bit(Capabilities.CAP_NET_RAW)) != 0) {
            throw new IOException("missing capability CAP_NET_RAW, which the raw socket that sends from"
                    + " WireGuard's port needs: " + FIX);
        }
        if ((missing & Capabilities.bit(Capabilities.CAP_NET_ADMIN)) != 0) {
            throw new IOException("missing capability CAP_NET_ADMIN, which changing a kernel WireGuard"
                    + " interface needs" + (backend.equals("auto") ? " (" + interfaceName + " has no userspace"
                    + " socket in /var/run/wireguard)" : "") + ": " + FIX);
        }
        if ((missing & Capabilities.bit(Capabilities.CAP_DAC_OVERRIDE)) != 0) {
            throw new IOException("cannot use " + socket + ": it belongs to uid " + owner(socket)
                    + " and this process runs as uid " + now.euid() + " without CAP_DAC_OVERRIDE: run it"
                    + " as root (sudo natpunch client ...) or as the user who started wireguard-go");
        }
        return keep;
    }

    /** The capabilities the client needs; see the class comment. */
    static long required(Capabilities.Status now, String backend, Path socket) throws IOException {
        long need = Capabilities.bit(Capabilities.CAP_NET_RAW);
        boolean userspace = socket != null && (backend.equals("uapi") || backend.equals("auto"));
        if (backend.equals("netlink") || backend.equals("wg") || (backend.equals("auto") && socket == null)) {
            need |= Capabilities.bit(Capabilities.CAP_NET_ADMIN);
        } else if (backend.equals("auto")) {
            // The automatic backend falls back to netlink if the socket goes away: keep what
            // that needs when it is there, without requiring it.
            need |= now.effective() & Capabilities.bit(Capabilities.CAP_NET_ADMIN);
        }
        if (userspace && owner(socket) != now.euid()) {
            need |= Capabilities.bit(Capabilities.CAP_DAC_OVERRIDE);
        }
        return need;
    }

    /** The interface's wireguard-go socket, or null (also for a name the backends will refuse). */
    private static Path uapiSocket(String interfaceName) {
        if (interfaceName.isEmpty() || interfaceName.contains("/") || interfaceName.startsWith(".")) {
            return null;
        }
        for (Path dir : WireguardControl.DEFAULT_SOCKET_DIRECTORIES) {
            Path p = dir.resolve(interfaceName + ".sock");
            if (Files.exists(p)) {
                return p;
            }
        }
        return null;
    }

    private static int owner(Path socket) throws IOException {
        return (Integer) Files.getAttribute(socket, "unix:uid");
    }
}
