package dev.natpunch.relay;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UDP socket and the one thread of either end of the relay control channel: datagrams go to
 * {@link #onDatagram}, and {@link #onTick} runs after each batch of them, at least every
 * {@link #TICK_MILLIS}, and soon after {@link #wakeup()}. {@link #send} may be called from any thread and never blocks: a
 * datagram the socket has no room for is dropped, as the network might.
 */
abstract class ControlPort implements Runnable {
    static final long TICK_MILLIS = 200;
    private static final Logger log = LoggerFactory.getLogger(ControlPort.class);
    /** The channel's datagrams are at most a READY result sealed (under 200 bytes); anything longer is not ours. */
    private static final int BUFFER = 2048;

    final Clock clock;
    private final DatagramChannel channel;
    private final Selector selector;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
    private final Thread thread;
    private volatile boolean running = true;

    ControlPort(InetSocketAddress bind, String threadName, Clock clock) throws IOException {
        this.clock = clock;
        this.channel = DatagramChannel.open();
        try {
            channel.bind(bind);
            channel.configureBlocking(false);
            this.selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        this.thread = new Thread(this, threadName);
        thread.setDaemon(true);
    }

    final void startThread() {
        thread.start();
    }

    final InetSocketAddress localAddress() {
        try {
            return (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException("the control port is closed", e);
        }
    }

    /** A datagram of {@code len} bytes at {@code d[0..]} from {@code from}, on the port's thread. */
    abstract void onDatagram(byte[] d, int len, InetSocketAddress from, long nowMillis);

    /** Timers, on the port's thread. */
    abstract void onTick(long nowMillis);

    final void wakeup() {
        selector.wakeup();
    }

    final void send(byte[] d, int len, SocketAddress to) {
        try {
            channel.send(ByteBuffer.wrap(d, 0, len), to);
        } catch (ClosedChannelException e) {
            // closing: nothing more to say
        } catch (IOException e) {
            log.debug("control datagram to {} not sent: {}", to, e.getMessage());
        }
    }

    @Override
    public final void run() {
        byte[] d = buffer.array();
        while (running) {
            try {
                selector.select(TICK_MILLIS);
                selector.selectedKeys().clear();
                SocketAddress from;
                while (running && (from = channel.receive(buffer.clear())) != null) {
                    try {
                        onDatagram(d, buffer.position(), (InetSocketAddress) from, clock.millis());
                    } catch (RuntimeException e) {
                        log.warn("Unexpected error on a control datagram from {}; continuing", from, e);
                    }
                }
                onTick(clock.millis());
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (running) {
                    log.warn("Control port error; continuing", e);
                    sleepQuietly();
                }
            }
        }
    }

    private static void sleepQuietly() {
        try {
            TimeUnit.MILLISECONDS.sleep(TICK_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Ends the thread and closes the socket; waits up to a second for the thread. */
    final void closePort() {
        running = false;
        selector.wakeup();
        if (Thread.currentThread() != thread && thread.isAlive()) {
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            selector.close();
            channel.close();
        } catch (IOException e) {
            log.debug("closing the control port failed", e);
        }
    }
}
