package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
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
 * The UDP implementation: one blocking {@link DatagramChannel} shared by N worker threads. The
 * channel lets one thread at a time sit in {@code receive}; the others process what they got in the
 * meantime, so decryption and key exchange run on every core while the socket stays single (no
 * SO_REUSEPORT, which would let a second server silently share the port). A sweeper thread expires
 * entries; lookups also check expiry themselves, so correctness does not depend on its timing.
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
    private DatagramChannel channel;
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
        DatagramChannel ch = config.bindAddress instanceof Inet4Address
                ? DatagramChannel.open(StandardProtocolFamily.INET)
                : DatagramChannel.open();
        InetSocketAddress bindTo = config.bindAddress == null
                ? new InetSocketAddress(config.port)
                : new InetSocketAddress(config.bindAddress, config.port);
        try {
            // The default buffer (about 200 KB) overflows in bursts that the workers absorb a moment
            // later (docs/PERFORMANCE.md); the kernel caps this at net.core.rmem_max.
            ch.setOption(StandardSocketOptions.SO_RCVBUF, RECEIVE_SOCKET_BUFFER);
            ch.bind(bindTo);
        } catch (BindException e) {
            ch.close();
            String where = config.bindAddress == null ? "all addresses" : config.bindAddress.getHostAddress();
            throw new IOException("cannot listen on UDP port " + config.port + " (" + where + "): "
                    + e.getMessage() + ". Another process (perhaps another rendezvous server) already uses"
                    + " this port: stop it, or choose a different port.", e);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        channel = ch;
        localAddress = (InetSocketAddress) ch.getLocalAddress();
        handler.sealed.setServerEndpoints(ServerAddresses.primary(List.of(localAddress)));
        started = true;
        running = true;
        DatagramChannel out = ch;
        handler.pushes.start((d, off, len, to) -> out.send(ByteBuffer.wrap(d, off, len), to),
                "natpunch-server-" + localAddress.getPort() + "-push");
        for (int i = 0; i < config.workerThreads; i++) {
            Thread t = new Thread(this::serve, "natpunch-server-" + localAddress.getPort() + "-worker-" + i);
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
        sweeper = exec;
        log.info("Rendezvous server listening on UDP {} with public key {}", text(localAddress),
                handler.publicKey().toBase64());
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

    private void serve() {
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
                n = handler.handle(in, 0, inBuf.position(), source, out, 0, scratch);
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
                channel.send(outBuf, source);
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException | RuntimeException e) {
                handler.countSendFailure(source);
                log.debug("send to {} failed", source, e);
            }
        }
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
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("closing the channel failed", e);
        }
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
