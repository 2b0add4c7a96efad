package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.Wire;
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
 * probe socket), each read by one thread of its own, which answers lookups and the other sealed
 * requests itself (about a microsecond of work each, so one thread that never hands the socket
 * over beats several that take turns in {@code receive}; docs/PERFORMANCE.md). Handshake
 * initiations, a few hundred microseconds of key exchange each, go to a bounded queue served by
 * the worker threads (one per core by default), which send message 2 on the socket the
 * initiation came in on; a full queue drops them, so a flood of handshakes cannot take the
 * receiving threads' CPU or grow memory. Each socket stays single (no SO_REUSEPORT, which would
 * let a second server silently share the port). All sockets share one session table. A sweeper
 * thread expires entries (lookups also check expiry themselves, so correctness does not depend on
 * its timing) and a push thread sends version 2 push updates.
 */
final class UdpRendezvousServer implements RendezvousServer {
    private static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);
    /** One byte more than the longest message, so that an oversized datagram shows as too long instead of being silently truncated to a valid length. */
    private static final int RECEIVE_BUFFER = V2Wire.MAX_DATAGRAM + 1;
    private static final long CLOSE_WAIT_MILLIS = 900;
    private static final int RECEIVE_SOCKET_BUFFER = 4 << 20;
    /**
     * Queued initiations per handshake thread: with a few hundred microseconds each, about 0.1 s
     * of work, well inside the second after which a client sends its initiation again.
     */
    static final int QUEUE_PER_WORKER = 256;

    private final ServerConfig config;
    private final PacketHandler handler;
    private final HandshakeQueue queue;
    private final List<Thread> receivers = new ArrayList<>();
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
        this.queue = new HandshakeQueue(QUEUE_PER_WORKER * config.workerThreads);
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
        for (BoundSocket b : sockets) {
            Thread t = new Thread(() -> receive(b), "natpunch-server-" + b.local().getPort() + "-receiver"
                    + (b.slot() == 0 ? "" : "-" + b.slot()));
            receivers.add(t);
            t.start();
        }
        for (int i = 0; i < config.workerThreads; i++) {
            Thread t = new Thread(this::handshakes, "natpunch-server-" + localAddress.getPort() + "-handshakes-" + i);
            workers.add(t);
            t.start();
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
            // The default buffer (about 200 KB) overflows in bursts that the receiving thread
            // absorbs a moment later (docs/PERFORMANCE.md); the kernel caps this at net.core.rmem_max.
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

    /** A socket's receiving thread: answers everything but handshake initiations itself. */
    private void receive(BoundSocket at) {
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
            int len = inBuf.position();
            int n;
            try {
                if (at.primary() && len > 0 && in[0] == Wire.TYPE_HANDSHAKE_INITIATION) {
                    if (handler.admitHandshake(in, 0, len, source) && !queue.offer(in, 0, len, source, at)) {
                        handler.drop(DropReason.HANDSHAKE_QUEUE_FULL, source);
                    }
                    continue;
                }
                n = handler.handle(in, 0, len, source, at, out, 0, scratch);
            } catch (Error e) {
                // Typically an OutOfMemoryError under a flood: losing this datagram is better than
                // losing the thread, which would silently stop the socket.
                log.error("Error while processing a datagram from {}; the server keeps serving", source, e);
                continue;
            }
            if (n > 0 && !send(scratch.sendFrom < 0 ? channel : channels.get(scratch.sendFrom), outBuf, n, source)) {
                break;
            }
        }
    }

    /** A handshake thread: runs the key exchange of queued initiations and sends message 2. */
    private void handshakes() {
        byte[] out = new byte[V2Wire.MAX_DATAGRAM];
        ByteBuffer outBuf = ByteBuffer.wrap(out);
        PacketHandler.Scratch scratch = new PacketHandler.Scratch();
        while (running) {
            HandshakeQueue.Job job;
            try {
                job = queue.take();
            } catch (InterruptedException e) {
                break;
            }
            try {
                int n = handler.handshake(job.data, 0, job.length, job.source, out, 0, scratch);
                if (n > 0 && !send(channels.get(job.socket.slot()), outBuf, n, job.source)) {
                    break;
                }
            } catch (Error e) {
                log.error("Error while processing a handshake from {}; the server keeps serving", job.source, e);
            } finally {
                queue.release(job);
            }
        }
    }

    /** Sends {@code n} bytes of {@code buf}; false when the channel is closed (the server is closing). */
    private boolean send(DatagramChannel channel, ByteBuffer buf, int n, InetSocketAddress to) {
        try {
            buf.clear().limit(n);
            channel.send(buf, to);
        } catch (ClosedChannelException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            handler.countSendFailure(to);
            log.debug("send to {} failed", to, e);
        }
        return true;
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
        for (Thread t : workers) {
            // Waiting for the queue; a worker in a key exchange finishes it and then sees this.
            t.interrupt();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        boolean interrupted = false;
        List<Thread> threads = new ArrayList<>(receivers);
        threads.addAll(workers);
        for (Thread t : threads) {
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
