package dev.natpunch.server;

import dev.natpunch.protocol.v2.V2Wire;
import java.net.InetSocketAddress;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * The bounded queue between the threads that receive datagrams and the threads that run
 * handshakes. Its slots are made once, so queueing a message 1 copies it and allocates nothing;
 * when every slot is taken the message is refused, which bounds both the memory and the CPU a
 * flood of handshakes can take (the receiving threads keep answering lookups).
 */
final class HandshakeQueue {
    /** One queued message 1, where it came from and the socket it arrived on. */
    static final class Job {
        final byte[] data = new byte[V2Wire.MAX_INITIATION_LENGTH];
        int length;
        InetSocketAddress source;
        BoundSocket socket;
    }

    private final ArrayBlockingQueue<Job> free;
    private final ArrayBlockingQueue<Job> queued;

    HandshakeQueue(int capacity) {
        free = new ArrayBlockingQueue<>(capacity);
        queued = new ArrayBlockingQueue<>(capacity);
        for (int i = 0; i < capacity; i++) {
            free.add(new Job());
        }
    }

    /**
     * Copies a message 1 (at most {@link V2Wire#MAX_INITIATION_LENGTH} bytes, which
     * {@link PacketHandler#admitHandshake} checked) into a free slot and queues it.
     *
     * @return false when the queue is full
     */
    boolean offer(byte[] d, int off, int len, InetSocketAddress source, BoundSocket socket) {
        Job job = free.poll();
        if (job == null) {
            return false;
        }
        System.arraycopy(d, off, job.data, 0, len);
        job.length = len;
        job.source = source;
        job.socket = socket;
        queued.add(job);
        return true;
    }

    /** The oldest queued message 1, waiting for one. */
    Job take() throws InterruptedException {
        return queued.take();
    }

    /** Gives a job's slot back once its handshake is done. */
    void release(Job job) {
        job.source = null;
        job.socket = null;
        free.add(job);
    }
}
