package dev.natpunch.bench.load;

import java.io.IOException;
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

/**
 * The physical limit for lookups: a UDP server with the rendezvous server's socket setup (one
 * blocking IPv4 {@link DatagramChannel} with a 4 MiB socket receive buffer, read by one thread
 * that answers each datagram itself, as the rendezvous server answers lookups) that does no work
 * per datagram but answer. {@code --threads N} shares the channel between N such threads, as the
 * rendezvous server once did for every kind of datagram (slower: they take turns in
 * {@code receive}, see docs/PERFORMANCE.md). It answers every datagram
 * with its first 31 bytes, the size of a lookup answer, so the generator sends and receives
 * exactly the sizes it does against the real server (93 in, 31 out).
 *
 * <p>Run as a child JVM by {@link LoadGenerator} (suite mode), or by hand:
 * {@code java -cp benchmarks.jar dev.natpunch.bench.load.EchoServer [PORT] [--threads N]}. Prints
 * {@code Echo server listening on UDP 127.0.0.1:PORT} and serves until killed. Binds loopback only.
 */
public final class EchoServer {
    static final String READY_PREFIX = "Echo server listening on UDP ";
    /** One byte more than the longest version 1 message (109). */
    private static final int RECEIVE_BUFFER = 110;
    /** As the rendezvous server asks for (the kernel caps it at net.core.rmem_max). */
    private static final int SOCKET_RECEIVE_BUFFER = 4 << 20;
    static final int ANSWER_LENGTH = 31;

    private EchoServer() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        int port = 0;
        int threads = 1;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--threads")) {
                threads = Integer.parseInt(args[++i]);
            } else {
                port = Integer.parseInt(args[i]);
            }
        }
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
        channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_RECEIVE_BUFFER);
        channel.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> serve(channel), "echo-worker-" + i);
            workers.add(t);
            t.start();
        }
        System.out.println(READY_PREFIX + local.getAddress().getHostAddress() + ":" + local.getPort()
                + " with " + threads + " worker threads");
        System.out.flush();
        for (Thread t : workers) {
            t.join();
        }
    }

    private static void serve(DatagramChannel channel) {
        ByteBuffer in = ByteBuffer.allocate(RECEIVE_BUFFER);
        ByteBuffer out = ByteBuffer.wrap(in.array(), 0, ANSWER_LENGTH);
        while (true) {
            SocketAddress from;
            try {
                in.clear();
                from = channel.receive(in);
                if (in.position() < ANSWER_LENGTH) {
                    continue;
                }
                out.clear().limit(ANSWER_LENGTH);
                channel.send(out, from);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // Like the real server: a failed send loses one datagram, not the worker.
            }
        }
    }
}
