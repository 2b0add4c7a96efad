package dev.natpunch.bench.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.relay.AllocationResult;
import dev.natpunch.relay.Relay;
import dev.natpunch.relay.RelayMetrics;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Load for the relay ({@code dev.natpunch.relay}) on loopback, in one JVM: how many datagrams per
 * second it forwards, at what CPU cost per datagram, and how much heap an allocation takes.
 *
 * <pre>
 * java -cp natpunch-bench/target/benchmarks.jar dev.natpunch.bench.relay.RelayLoad \
 *     [--pairs 16] [--size 1452] [--seconds 10] [--relay-threads 1] [--memory 2000]
 * </pre>
 *
 * <p>One sender thread sends, round robin over the pairs, as fast as the kernel takes datagrams
 * from side A's sockets; one receiver thread counts what reaches side B's sockets. First directly
 * (A's sockets to B's, no relay: the ceiling of this generator and the kernel's loopback on this
 * machine, measured in the same run), then through the relay. Reported: sent and delivered
 * datagrams per second, loss, the relay's forwarded count, and the CPU time of the relay's
 * forwarding threads per forwarded datagram (thread CPU time, so the generator's share is not in
 * it). {@code --memory N} instead makes N ready, bound allocations and reports the heap and file
 * descriptors each costs. Binds loopback only, ports 20000-29999 for the relay.
 */
public final class RelayLoad {
    private static final int FIRST_PORT = 20000;
    private static final int LAST_PORT = 29999;

    private RelayLoad() {
    }

    public static void main(String[] args) throws Exception {
        int pairs = 16;
        int size = 1452;
        int seconds = 10;
        int relayThreads = 1;
        int memory = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--relay-threads" -> relayThreads = Integer.parseInt(args[++i]);
                case "--memory" -> memory = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: RelayLoad [--pairs N] [--size BYTES] [--seconds S] [--relay-threads N] [--memory N]");
                    System.exit(2);
                }
            }
        }
        if (memory > 0) {
            memory(memory);
            return;
        }
        System.out.printf(Locale.ROOT, "pairs %d, %d-byte datagrams, %d s per phase, %d relay thread(s), %d cores%n",
                pairs, size, seconds, relayThreads, Runtime.getRuntime().availableProcessors());
        for (String phase : List.of("warm-up direct", "direct", "warm-up relay", "relay")) {
            boolean warm = phase.startsWith("warm-up");
            run(phase, phase.endsWith("relay"), pairs, size, warm ? 3 : seconds, relayThreads);
        }
    }

    private static Relay relay(int threads) throws IOException {
        Relay relay = Relay.builder().address(InetAddress.getLoopbackAddress()).portRange(FIRST_PORT, LAST_PORT)
                .bandwidthLimit(0, 0).workerThreads(threads).maxAllocationsPerClient(1).build();
        relay.start();
        return relay;
    }

    private static DatagramChannel open() throws IOException {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return ch;
    }

    /** Makes the pair's allocation and binds A's and B's sockets; returns {relay port facing A, facing B}. */
    private static InetSocketAddress[] allocate(Relay relay, DatagramChannel a, DatagramChannel b) throws IOException {
        Key ka = KeyPair.generate().publicKey();
        Key kb = KeyPair.generate().publicKey();
        relay.allocate(ka, kb, StandardProtocolFamily.INET);
        AllocationResult rb = relay.allocate(kb, ka, StandardProtocolFamily.INET);
        AllocationResult ra = relay.allocate(ka, kb, StandardProtocolFamily.INET);
        if (ra.status() != AllocationResult.Status.READY || rb.status() != AllocationResult.Status.READY) {
            throw new IllegalStateException("allocation failed: " + ra + ", " + rb);
        }
        InetSocketAddress ea = ra.endpoint().orElseThrow();
        InetSocketAddress eb = rb.endpoint().orElseThrow();
        a.send(ByteBuffer.wrap(bind(ra.token())), ea);
        b.send(ByteBuffer.wrap(bind(rb.token())), eb);
        return new InetSocketAddress[] {ea, eb};
    }

    private static byte[] bind(byte[] token) {
        byte[] d = new byte[V2Wire.RELAY_BIND_LENGTH];
        RelayControl.writeBind(d, 0, token, 0);
        return d;
    }

    private static void run(String phase, boolean relayed, int pairs, int size, int seconds, int relayThreads)
            throws Exception {
        List<DatagramChannel> as = new ArrayList<>();
        List<DatagramChannel> bs = new ArrayList<>();
        List<InetSocketAddress> targets = new ArrayList<>();
        Relay relay = relayed ? relay(relayThreads) : null;
        try {
            for (int i = 0; i < pairs; i++) {
                DatagramChannel a = open();
                DatagramChannel b = open();
                as.add(a);
                bs.add(b);
                targets.add(relayed ? allocate(relay, a, b)[0] : (InetSocketAddress) b.getLocalAddress());
            }
            if (relayed) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (relay.metrics().binds() < 2L * pairs && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
            }
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong sent = new AtomicLong();
            AtomicLong received = new AtomicLong();
            Selector selector = Selector.open();
            for (DatagramChannel b : bs) {
                b.configureBlocking(false);
                b.register(selector, SelectionKey.OP_READ);
            }
            Thread receiver = new Thread(() -> receive(selector, running, received), "relayload-receiver");
            Thread sender = new Thread(() -> send(as, targets, size, running, sent), "relayload-sender");
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long relayCpu0 = relayCpuNanos(threads);
            long processCpu0 = processCpuNanos();
            long forwarded0 = relay != null ? relay.metrics().datagramsForwarded() : 0;
            long t0 = System.nanoTime();
            receiver.start();
            sender.start();
            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            running.set(false);
            sender.join();
            Thread.sleep(200);
            long elapsed = System.nanoTime() - t0;
            selector.wakeup();
            receiver.join();
            selector.close();
            double secs = elapsed / 1e9;
            long relayCpu = relayCpuNanos(threads) - relayCpu0;
            long processCpu = processCpuNanos() - processCpu0;
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                    "%-15s sent %9.0f/s  delivered %9.0f/s  loss %5.1f%%  process CPU %4.0f%%",
                    phase, sent.get() / secs, received.get() / secs,
                    100.0 * (sent.get() - received.get()) / Math.max(1, sent.get()), 100.0 * processCpu / elapsed));
            if (relay != null) {
                RelayMetrics m = relay.metrics();
                long fwd = m.datagramsForwarded() - forwarded0;
                line.append(String.format(Locale.ROOT, "  relay forwarded %9.0f/s, relay threads CPU %4.0f%%, %5.0f ns/datagram,"
                        + " drops %d", fwd / secs, 100.0 * relayCpu / elapsed, fwd == 0 ? 0.0 : (double) relayCpu / fwd,
                        m.totalDrops()));
            }
            System.out.println(line);
        } finally {
            if (relay != null) {
                relay.close();
            }
            for (DatagramChannel c : as) {
                c.close();
            }
            for (DatagramChannel c : bs) {
                c.close();
            }
        }
    }

    private static void send(List<DatagramChannel> as, List<InetSocketAddress> targets, int size, AtomicBoolean running,
                             AtomicLong sent) {
        ByteBuffer buf = ByteBuffer.allocateDirect(size);
        // A WireGuard data message's first bytes (type 4, three zero bytes); the rest is arbitrary.
        buf.put(0, (byte) 4);
        long n = 0;
        try {
            while (running.get()) {
                for (int i = 0; i < as.size(); i++) {
                    buf.clear();
                    n += as.get(i).send(buf, targets.get(i)) > 0 ? 1 : 0;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        sent.set(n);
    }

    private static void receive(Selector selector, AtomicBoolean running, AtomicLong received) {
        ByteBuffer buf = ByteBuffer.allocateDirect(65_536);
        long n = 0;
        try {
            while (true) {
                selector.select(100);
                for (SelectionKey k : selector.selectedKeys()) {
                    DatagramChannel ch = (DatagramChannel) k.channel();
                    while (true) {
                        buf.clear();
                        if (ch.receive(buf) == null) {
                            break;
                        }
                        n++;
                    }
                }
                selector.selectedKeys().clear();
                if (!running.get() && selector.selectNow() == 0) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        received.set(n);
    }

    private static long relayCpuNanos(ThreadMXBean threads) {
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("natpunch-relay-forwarder")) {
                sum += Math.max(0, threads.getThreadCpuTime(t.getId()));
            }
        }
        return sum;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Heap and descriptors per ready, bound allocation. */
    private static void memory(int n) throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        try (Relay relay = relay(1)) {
            List<DatagramChannel> clients = new ArrayList<>();
            // The client sockets stand in for WireGuard and are not the relay's: open them first.
            for (int i = 0; i < 2 * n; i++) {
                clients.add(open());
            }
            long heap0 = usedHeapAfterGc(memory);
            long fds0 = openFds();
            for (int i = 0; i < n; i++) {
                allocate(relay, clients.get(2 * i), clients.get(2 * i + 1));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (relay.metrics().binds() < 2L * n && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            long heap1 = usedHeapAfterGc(memory);
            long fds1 = openFds();
            System.out.printf(Locale.ROOT, "%d allocations (%d bound sides): heap %.0f bytes each, %.2f file descriptors each%n",
                    relay.metrics().allocations(), relay.metrics().binds(), (double) (heap1 - heap0) / n,
                    (double) (fds1 - fds0) / n);
            for (DatagramChannel c : clients) {
                c.close();
            }
        }
    }

    private static long usedHeapAfterGc(MemoryMXBean memory) throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
