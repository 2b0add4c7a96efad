package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.BindException;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UDP implementation: one blocking {@link DatagramChannel} per listen address (and per NAT
 * probe socket), each shared by worker threads. A channel lets one thread at a time sit in
 * {@code receive}; the others process what they got in the meantime, so decryption and key
 * exchange run on every core while each socket stays single (no SO_REUSEPORT, which would let a
 * second server silently share the port). All sockets share one session table. A sweeper thread
 * expires entries (lookups also check expiry themselves, so correctness does not depend on its
 * timing) and a push thread sends version 2 push updates.
 */
final class UdpRendezvousServer implements RendezvousServer {
    private static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);
    /** One byte more than the longest message, so that an oversized datagram shows as too long instead of being silently truncated to a valid length. */
    private static final int RECEIVE_BUFFER = V2Wire.MAX_DATAGRAM + 1;
    private static final long CLOSE_WAIT_MILLIS = 900;
    private static final int RECEIVE_SOCKET_BUFFER = 4 << 20;

    private final ServerConfig config;
    private final PacketHandler handler;
    private final List<Thread> workers = new ArrayList<>();
    private final List<DatagramChannel> channels = new ArrayList<>();
    private final List<BoundSocket> sockets = new ArrayList<>();
    private ScheduledExecutorService sweeper;
    private InetSocketAddress localAddress;
    private volatile boolean running;
    private boolean started;
    private boolean closed;

    UdpRendezvousServer(ServerConfig config) {
        this.config = config;
        this.handler = new PacketHandler(config);
    }

    @Override
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("the server was closed; build a new one");
        }
        if (started) {
            throw new IllegalStateException("the server is already started");
        }
        try {
            bindAll();
        } catch (IOException | RuntimeException e) {
            closeChannels();
            channels.clear();
            sockets.clear();
            throw e;
        }
        localAddress = sockets.get(0).local();
        handler.sealed.setSockets(sockets);
        started = true;
        running = true;
        handler.pushes.start(this::sendPush, "natpunch-server-" + localAddress.getPort() + "-push");
        int primaries = (int) sockets.stream().filter(BoundSocket::primary).count();
        for (BoundSocket b : sockets) {
            int threads = b.primary() ? Math.max(1, config.workerThreads / primaries) : 1;
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> serve(b), "natpunch-server-" + b.local().getPort() + "-worker-"
                        + (b.slot() == 0 ? "" : b.slot() + "-") + i);
                workers.add(t);
                t.start();
            }
        }
        long interval = Math.max(1000, Math.min(30_000,
                Math.min(config.registrationTtlMillis, config.sessionTtlMillis) / 4));
        ScheduledThreadPoolExecutor exec = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "natpunch-server-" + localAddress.getPort() + "-sweeper");
            t.setDaemon(true);
            return t;
        });
        exec.scheduleWithFixedDelay(this::sweepQuietly, interval, interval, TimeUnit.MILLISECONDS);
        java.nio.file.Path allowFile = config.extensions.allowFile();
        if (allowFile != null) {
            allowFileStamp = stamp(allowFile);
            exec.scheduleWithFixedDelay(() -> reloadAllowFile(allowFile), 1, 1, TimeUnit.SECONDS);
        }
        sweeper = exec;
        for (BoundSocket b : sockets) {
            if (b.primary()) {
                log.info("Rendezvous server listening on UDP {} with public key {}", text(b.local()),
                        handler.publicKey().toBase64());
            } else {
                log.info("NAT probe socket on UDP {} ({})", text(b.local()), b.kind());
            }
        }
    }

    /** Binds every primary address, then each one's probe sockets (same group). */
    private void bindAll() throws IOException {
        List<InetSocketAddress> primaries = config.extensions.listen();
        // Without an address, the dual-stack wildcard: an IPv6 socket bound to [::].
        boolean dualStackDefault = primaries.isEmpty() && config.bindAddress == null;
        if (primaries.isEmpty()) {
            primaries = List.of(config.bindAddress == null ? new InetSocketAddress(config.port)
                    : new InetSocketAddress(config.bindAddress, config.port));
        }
        int probePort = config.extensions.probePort();
        for (InetSocketAddress p : primaries) {
            BoundSocket primary = bind(p, -1, WireEndpoint.Kind.SERVER_PRIMARY, dualStackDefault);
            InetAddress address = primary.local().getAddress();
            int port = primary.local().getPort();
            if (probePort > 0) {
                if (probePort == port) {
                    throw new IOException("the probe port " + probePort + " is the rendezvous port of "
                            + text(primary.local()) + "; choose another (probe answers must never come from"
                            + " the rendezvous port)");
                }
                bind(new InetSocketAddress(address, probePort), primary.slot(), WireEndpoint.Kind.SERVER_ALT_PORT,
                        dualStackDefault);
            }
            InetAddress alternate = alternateFor(address);
            if (alternate != null) {
                bind(new InetSocketAddress(alternate, port), primary.slot(), WireEndpoint.Kind.SERVER_ALT_ADDRESS, false);
                if (probePort > 0) {
                    bind(new InetSocketAddress(alternate, probePort), primary.slot(), WireEndpoint.Kind.SERVER_ALT_BOTH,
                            false);
                }
            }
        }
    }

    /** The configured second address of {@code primary}'s family, for a primary bound to one address. */
    private InetAddress alternateFor(InetAddress primary) {
        if (primary.isAnyLocalAddress()) {
            return null;
        }
        for (InetAddress a : config.extensions.alternateAddresses()) {
            if ((a instanceof Inet4Address) == (primary instanceof Inet4Address) && !a.equals(primary)) {
                return a;
            }
        }
        return null;
    }

    /** @param systemDefault open a socket of the system's default family (dual-stack where it can) */
    private BoundSocket bind(InetSocketAddress at, int group, WireEndpoint.Kind kind, boolean systemDefault)
            throws IOException {
        InetAddress address = at.getAddress();
        DatagramChannel ch = address instanceof Inet4Address && !systemDefault
                ? DatagramChannel.open(StandardProtocolFamily.INET)
                : DatagramChannel.open();
        try {
            // The default buffer (about 200 KB) overflows in bursts that the workers absorb a moment
            // later (docs/PERFORMANCE.md); the kernel caps this at net.core.rmem_max.
            ch.setOption(StandardSocketOptions.SO_RCVBUF, RECEIVE_SOCKET_BUFFER);
            ch.bind(at);
        } catch (BindException e) {
            ch.close();
            String where = address == null || address.isAnyLocalAddress() ? "all addresses" : address.getHostAddress();
            throw new IOException("cannot listen on UDP port " + at.getPort() + " (" + where + "): "
                    + e.getMessage() + ". Another process (perhaps another rendezvous server) already uses"
                    + " this port, or an IPv6 wildcard address already covers IPv4 on it: stop it, or choose"
                    + " a different port or address.", e);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        InetSocketAddress local = (InetSocketAddress) ch.getLocalAddress();
        int slot = sockets.size();
        List<WireEndpoint> advertised = ServerAddresses.advertised(local, kind);
        BoundSocket b = new BoundSocket(slot, group < 0 ? slot : group, kind, local, advertised);
        channels.add(ch);
        sockets.add(b);
        return b;
    }

    /** The allow file's modification time and size when last read (or tried). */
    private volatile String allowFileStamp;

    private static String stamp(java.nio.file.Path file) {
        try {
            return java.nio.file.Files.getLastModifiedTime(file) + "/" + java.nio.file.Files.size(file);
        } catch (IOException e) {
            return "unreadable";
        }
    }

    /** Reloads the allow file when it changed; a bad file keeps the previous list (one warning per change). */
    void reloadAllowFile(java.nio.file.Path file) {
        String now = stamp(file);
        if (now.equals(allowFileStamp)) {
            return;
        }
        allowFileStamp = now;
        try {
            List<dev.natpunch.crypto.Key> keys = AllowList.parse(file);
            config.extensions.allowList().replace(new java.util.HashSet<>(keys));
            log.info("Reloaded the allow-list {}: {} keys", file, keys.size());
        } catch (IOException | RuntimeException e) {
            log.warn("Keeping the previous allow-list: {}", e.getMessage());
        }
    }

    /** Sends a push from a primary socket of the destination's family. */
    private void sendPush(byte[] d, int off, int len, InetSocketAddress to) throws IOException {
        boolean v4 = to.getAddress() instanceof Inet4Address;
        DatagramChannel fallback = null;
        for (BoundSocket b : sockets) {
            if (!b.primary()) {
                continue;
            }
            InetAddress a = b.local().getAddress();
            boolean fits = v4 ? a instanceof Inet4Address || a.isAnyLocalAddress() : a instanceof Inet6Address;
            if (fits) {
                channels.get(b.slot()).send(ByteBuffer.wrap(d, off, len), to);
                return;
            }
            if (fallback == null) {
                fallback = channels.get(b.slot());
            }
        }
        if (fallback != null) {
            fallback.send(ByteBuffer.wrap(d, off, len), to);
        }
    }

    /** The protocol logic, for tests that inspect the tables. */
    PacketHandler handler() {
        return handler;
    }

    /** Runs an expiry sweep now, for tests that move an injected clock. */
    void sweepNow() {
        handler.sweep();
    }

    private void sweepQuietly() {
        try {
            handler.sweep();
        } catch (RuntimeException e) {
            log.warn("Expiry sweep failed; will retry", e);
        }
    }

    private void serve(BoundSocket at) {
        DatagramChannel channel = channels.get(at.slot());
        byte[] in = new byte[RECEIVE_BUFFER];
        byte[] out = new byte[V2Wire.MAX_DATAGRAM];
        ByteBuffer inBuf = ByteBuffer.wrap(in);
        ByteBuffer outBuf = ByteBuffer.wrap(out);
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        while (running) {
            SocketAddress from;
            try {
                inBuf.clear();
                from = channel.receive(inBuf);
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException | RuntimeException e) {
                if (!running) {
                    break;
                }
                log.debug("receive failed; continuing", e);
                continue;
            }
            if (!(from instanceof InetSocketAddress)) {
                continue;
            }
            InetSocketAddress source = (InetSocketAddress) from;
            int n;
            try {
                n = handler.handle(in, 0, inBuf.position(), source, at, out, 0, scratch);
            } catch (Error e) {
                // Typically an OutOfMemoryError under a flood: losing this datagram is better than
                // losing the worker, which would silently shrink the server.
                log.error("Error while processing a datagram from {}; the server keeps serving", source, e);
                continue;
            }
            if (n <= 0) {
                continue;
            }
            try {
                outBuf.clear().limit(n);
                (scratch.sendFrom < 0 ? channel : channels.get(scratch.sendFrom)).send(outBuf, source);
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException | RuntimeException e) {
                handler.countSendFailure(source);
                log.debug("send to {} failed", source, e);
            }
        }
    }

    private void closeChannels() {
        for (DatagramChannel ch : channels) {
            try {
                ch.close();
            } catch (IOException e) {
                log.debug("closing a channel failed", e);
            }
        }
    }

    @Override
    public synchronized List<InetSocketAddress> localAddresses() {
        if (!started) {
            throw new IllegalStateException("the server is not started");
        }
        List<InetSocketAddress> out = new ArrayList<>();
        for (BoundSocket b : sockets) {
            if (b.primary()) {
                out.add(b.local());
            }
        }
        return List.copyOf(out);
    }

    /** Every bound socket, probe sockets included, for tests. */
    synchronized List<BoundSocket> sockets() {
        return List.copyOf(sockets);
    }

    @Override
    public synchronized InetSocketAddress localAddress() {
        if (!started) {
            throw new IllegalStateException("the server is not started");
        }
        return localAddress;
    }

    @Override
    public Key publicKey() {
        return handler.publicKey();
    }

    @Override
    public ServerMetrics metrics() {
        return handler.metrics();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        running = false;
        if (!started) {
            return;
        }
        closeChannels();
        sweeper.shutdownNow();
        handler.pushes.close();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        boolean interrupted = false;
        for (Thread t : workers) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            try {
                if (left > 0) {
                    t.join(left);
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
            if (t.isAlive()) {
                t.interrupt();
            }
        }
        try {
            sweeper.awaitTermination(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        log.info("Rendezvous server on UDP {} stopped", text(localAddress));
    }

    /** "0.0.0.0:12345" or "[::]:12345" (not "[0:0:0:0:0:0:0:0]:12345"), without a leading slash. */
    static String text(InetSocketAddress a) {
        return dev.natpunch.net.Endpoints.format(a);
    }
}
