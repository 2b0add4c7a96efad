package dev.natpunch.relay;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.util.BitSet;

/**
 * The relay's port range. A port number is used by at most one relay socket at a time, whatever
 * its address, so that an IPv6 wildcard socket (dual-stack) never collides with an IPv4 one.
 * Ports another process holds are skipped. Thread-safe.
 */
final class PortPool {
    private static final int RECEIVE_BUFFER = 1 << 20;

    private final int first;
    private final int size;
    private final BitSet used;
    private int cursor;

    PortPool(int first, int last) {
        this.first = first;
        this.size = last - first + 1;
        this.used = new BitSet(size);
    }

    /**
     * A non-blocking channel bound to {@code address} and the next free port of the range, or null
     * when every port is in use.
     */
    synchronized DatagramChannel open(InetAddress address, StandardProtocolFamily family) throws IOException {
        for (int i = 0; i < size; i++) {
            int slot = (cursor + i) % size;
            if (used.get(slot)) {
                continue;
            }
            DatagramChannel ch = DatagramChannel.open(family);
            try {
                // The default (about 200 KB) overflows when a burst of full-size WireGuard datagrams
                // meets a forwarding thread that waits for a core (docs/PERFORMANCE.md, Relay). Only
                // queued datagrams take memory; the kernel caps this at net.core.rmem_max.
                ch.setOption(StandardSocketOptions.SO_RCVBUF, RECEIVE_BUFFER);
                ch.bind(new InetSocketAddress(address, first + slot));
                ch.configureBlocking(false);
            } catch (BindException e) {
                ch.close();
                continue;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            used.set(slot);
            cursor = slot + 1;
            return ch;
        }
        return null;
    }

    synchronized void release(int port) {
        used.clear(port - first);
    }

    synchronized int inUse() {
        return used.cardinality();
    }
}
