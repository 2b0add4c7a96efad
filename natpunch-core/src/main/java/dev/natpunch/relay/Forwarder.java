package dev.natpunch.relay;

import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One forwarding thread: a selector over the ports of its share of the allocations. Both ports of
 * an allocation belong to the same forwarder, so its bandwidth bucket needs no lock.
 */
final class Forwarder implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** Datagrams read from one port before the next ready port gets its turn. */
    private static final int BATCH = 32;
    /** Larger than any UDP payload, so nothing is ever truncated. */
    private static final int BUFFER = 65_536;
    private static final int CLOSE_WAIT_SECONDS = 2;

    private final UdpRelay relay;
    private final Selector selector;
    private final Queue<Allocation.Side> added = new ConcurrentLinkedQueue<>();
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
    private final byte[] scratch = new byte[V2Wire.RELAY_BIND_LENGTH];
    private final Queue<Closing> closing = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;
    private volatile Thread thread;

    Forwarder(UdpRelay relay) throws IOException {
        this.relay = relay;
        this.selector = Selector.open();
    }

    /** Starts serving the allocation's two ports. */
    void add(Allocation a) {
        added.add(a.first);
        added.add(a.second);
        selector.wakeup();
    }

    /**
     * Closes the allocation's two ports and returns once they are free. A channel registered with
     * a selector is only really closed when the selector lets go of it, on the selector's thread;
     * so that a released port can be bound again at once, that thread closes them.
     */
    void closePorts(Allocation a) {
        if (!running || Thread.currentThread() == thread) {
            a.closeChannels();
            return;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        closing.add(new Closing(a, done));
        selector.wakeup();
        try {
            done.get(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            a.closeChannels();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Relay forwarder did not close ports {} and {} in time; closing them here", a.first.port,
                    a.second.port, e);
            a.closeChannels();
        }
    }

    void stop() {
        running = false;
        selector.wakeup();
    }

    void closeSelector() {
        try {
            selector.close();
        } catch (IOException e) {
            log.debug("closing a relay selector failed", e);
        }
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        while (running) {
            try {
                selector.select();
            } catch (ClosedSelectorException e) {
                return;
            } catch (IOException e) {
                log.debug("relay select failed; continuing", e);
                continue;
            }
            for (Allocation.Side s; (s = added.poll()) != null; ) {
                try {
                    s.channel.register(selector, SelectionKey.OP_READ, s);
                } catch (ClosedChannelException e) {
                    // released or expired before it got here
                }
            }
            if (!closing.isEmpty()) {
                closeQueued();
            }
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                if (key.isValid()) {
                    drain((Allocation.Side) key.attachment());
                }
            }
        }
        closeQueued();
    }

    private void closeQueued() {
        List<Closing> batch = new ArrayList<>();
        for (Closing c; (c = closing.poll()) != null; ) {
            c.allocation.closeChannels();
            batch.add(c);
        }
        try {
            // Deregisters the cancelled keys, which closes the sockets for good.
            selector.selectNow();
        } catch (IOException e) {
            log.debug("relay selectNow failed", e);
        }
        for (Closing c : batch) {
            c.done.complete(null);
        }
    }

    private record Closing(Allocation allocation, CompletableFuture<Void> done) {
    }

    private void drain(Allocation.Side side) {
        for (int i = 0; i < BATCH; i++) {
            buffer.clear();
            SocketAddress from;
            try {
                from = side.channel.receive(buffer);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.debug("receive on relay port {} failed", side.port, e);
                return;
            }
            if (from == null) {
                return;
            }
            buffer.flip();
            try {
                relay.onDatagram(side, buffer, (InetSocketAddress) from, scratch);
            } catch (RuntimeException e) {
                relay.internalError(side, e);
            }
        }
    }
}
