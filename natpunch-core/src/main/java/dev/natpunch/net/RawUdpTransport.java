package dev.natpunch.net;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Platform;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link DatagramTransport} over a Linux raw socket, so that datagrams to the server leave with
 * a UDP source port that another socket (WireGuard's) holds. The NAT in front of this host then
 * maps them exactly like WireGuard's own traffic, which is what makes the server's view of our
 * address useful to peers.
 *
 * <p>Answers are read from the same raw socket, which would otherwise see every UDP datagram the
 * host receives in its address family: a classic BPF filter in the kernel keeps only datagrams from
 * the server's address and port to our port, and each one is checked again here. The kernel also
 * hands those datagrams to the socket that owns the port, which for WireGuard means they are
 * dropped as invalid.
 *
 * <p>One transport serves one address family, the server's: over IPv4 it writes whole packets
 * ({@code IP_HDRINCL}), over IPv6 the kernel writes the IPv6 header and the UDP checksum. To reach
 * a server over both families, open one transport per family (see
 * {@link Endpoints#resolvePerFamily}).
 *
 * <p>Needs Linux and root or {@code CAP_NET_RAW}. Thread-safe; {@link #close()} wakes a thread
 * blocked in {@link #receive}.
 */
public final class RawUdpTransport implements DatagramTransport {

    private static final Logger log = LoggerFactory.getLogger(RawUdpTransport.class);

    /** errno values a raw socket reports for ICMP errors about earlier datagrams: not fatal for us. */
    private static final Set<Integer> ICMP_ERRNOS = Set.of(
            13 /* EACCES */, 64 /* ENONET */, 71 /* EPROTO */, 90 /* EMSGSIZE */, 92 /* ENOPROTOOPT */,
            101 /* ENETUNREACH */, 111 /* ECONNREFUSED */, 112 /* EHOSTDOWN */, 113 /* EHOSTUNREACH */);

    /** Poll at most this long at a time, so that an interrupt is noticed. */
    private static final int POLL_SLICE_MILLIS = 100;

    /** {@code sizeof(struct sockaddr_storage)}: room for any sender address. */
    private static final int SOCKADDR_STORAGE_SIZE = 128;

    private final LinuxLibc libc;
    private final InetSocketAddress server;
    private final InetSocketAddress local;
    private final RawUdpFraming framing;
    private final int fd;
    private final int wakeFd;
    private final Object sendLock = new Object();
    private final ReentrantLock receiveLock = new ReentrantLock();
    private final Memory sendBuffer;
    private final Memory receiveBuffer;
    private final Memory senderBuffer = new Memory(SOCKADDR_STORAGE_SIZE);
    private final IntByReference senderLength = new IntByReference();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong droppedAfterFilter = new AtomicLong();

    private RawUdpTransport(LinuxLibc libc, InetSocketAddress server, int localPort, RawUdpFraming framing,
                            int fd, int wakeFd) {
        this.libc = libc;
        this.server = server;
        this.local = new InetSocketAddress(framing.localAddress(), localPort);
        this.framing = framing;
        this.fd = fd;
        this.wakeFd = wakeFd;
        this.sendBuffer = new Memory(framing.maxPacket());
        this.receiveBuffer = new Memory(framing.maxPacket());
    }

    /**
     * Opens a raw socket of the server address's family: datagrams to {@code server} leave with UDP
     * source port {@code localPort} and the source address of the kernel's route to the server.
     *
     * @throws IOException if this is not Linux, the process lacks {@code CAP_NET_RAW}, there is no
     *     route to the server, or the kernel has the server's address family disabled
     */
    public static RawUdpTransport open(InetSocketAddress server, int localPort) throws IOException {
        Objects.requireNonNull(server, "server");
        return open(server, localPort, server.isUnresolved() ? null : Endpoints.family(server.getAddress()));
    }

    /**
     * Like {@link #open(InetSocketAddress, int)}, for a caller that keeps one transport per address
     * family and must not end up with a transport of the other one.
     *
     * @param family {@code INET} or {@code INET6}
     * @throws IOException also if {@code server} is not an address of {@code family}
     */
    public static RawUdpTransport open(InetSocketAddress server, int localPort, StandardProtocolFamily family)
            throws IOException {
        Objects.requireNonNull(server, "server");
        if (server.isUnresolved()) {
            throw new IllegalArgumentException("server address is unresolved: " + server);
        }
        if (server.getPort() == 0) {
            throw new IllegalArgumentException("server port is 0");
        }
        if (localPort < 1 || localPort > 0xFFFF) {
            throw new IllegalArgumentException("local port out of range: " + localPort);
        }
        if (!Platform.isLinux()) {
            throw new IOException("raw UDP transport is only implemented for Linux, not "
                    + System.getProperty("os.name"));
        }
        if (family != StandardProtocolFamily.INET && family != StandardProtocolFamily.INET6) {
            throw new IllegalArgumentException("address family must be INET or INET6, not " + family);
        }
        InetAddress serverAddress = server.getAddress();
        if (Endpoints.isIpv4Mapped(serverAddress)) {
            // A raw IPv6 socket would send it as IPv6 to a prefix nothing routes.
            byte[] b = serverAddress.getAddress();
            throw new IOException("server " + Endpoints.format(server) + " is an IPv4-mapped IPv6 address: give its "
                    + "IPv4 address " + (b[12] & 0xFF) + "." + (b[13] & 0xFF) + "." + (b[14] & 0xFF) + "."
                    + (b[15] & 0xFF) + " instead");
        }
        if (Endpoints.family(serverAddress) != family) {
            throw new IOException("address family mismatch: server " + Endpoints.format(server) + " is "
                    + name(Endpoints.family(serverAddress)) + ", this transport is for " + name(family));
        }
        LinuxLibc libc = loadLibc();
        InetAddress source = routeSource(server, family);
        RawUdpFraming framing = family == StandardProtocolFamily.INET
                ? new Ipv4RawFraming((Inet4Address) source, localPort, (Inet4Address) serverAddress, server.getPort())
                : new Ipv6RawFraming((Inet6Address) source, localPort, (Inet6Address) serverAddress, server.getPort());

        int fd;
        try {
            fd = libc.socket(framing.domain(), LinuxLibc.SOCK_RAW | LinuxLibc.SOCK_CLOEXEC, LinuxLibc.IPPROTO_UDP);
        } catch (LastErrorException e) {
            int errno = e.getErrorCode();
            if (errno == LinuxLibc.EPERM || errno == LinuxLibc.EACCES) {
                throw new IOException("raw sockets need root or CAP_NET_RAW: run as root or "
                        + "`setcap cap_net_raw+ep` on the java binary (" + strerror(libc, errno) + ")", e);
            }
            if (errno == LinuxLibc.EAFNOSUPPORT) {
                throw new IOException("the kernel does not support " + name(family) + " sockets ("
                        + strerror(libc, errno) + ")", e);
            }
            throw failure(libc, "socket(" + (family == StandardProtocolFamily.INET ? "AF_INET" : "AF_INET6")
                    + ", SOCK_RAW, IPPROTO_UDP)", e);
        }
        int wakeFd = -1;
        boolean ok = false;
        try {
            framing.configure(libc, fd);
            attachFilter(libc, fd, framing.filter());
            drain(libc, fd, framing.maxPacket());
            wakeFd = libc.eventfd(0, LinuxLibc.EFD_CLOEXEC | LinuxLibc.EFD_NONBLOCK);
            RawUdpTransport transport = new RawUdpTransport(libc, server, localPort, framing, fd, wakeFd);
            ok = true;
            log.debug("raw UDP transport open: {}", transport);
            return transport;
        } catch (LastErrorException e) {
            throw failure(libc, "setting up the raw socket", e);
        } finally {
            if (!ok) {
                closeQuietly(libc, wakeFd);
                closeQuietly(libc, fd);
            }
        }
    }

    @Override
    public InetSocketAddress server() {
        return server;
    }

    /**
     * The source address and port of our datagrams. The address is the one the route to the
     * server had when the transport was opened; over IPv6 the kernel picks the source for each
     * datagram (as it does for WireGuard's), so it follows later route or address changes.
     */
    public InetSocketAddress localAddress() {
        return local;
    }

    /** {@code INET} or {@code INET6}: the server's address family. */
    public StandardProtocolFamily family() {
        return Endpoints.family(server.getAddress());
    }

    /**
     * Sends the buffer's remaining bytes as one UDP datagram and advances its position past them.
     *
     * @throws IOException if the datagram is larger than one IP packet or than the route's MTU
     *     (nothing is fragmented), or the transport is closed
     */
    @Override
    public void send(ByteBuffer datagram) throws IOException {
        int length = datagram.remaining();
        if (length > framing.maxPayload()) {
            throw new IOException("datagram of " + length + " bytes exceeds the UDP maximum of "
                    + framing.maxPayload() + " bytes");
        }
        synchronized (sendLock) {
            ensureOpen();
            ByteBuffer out = sendBuffer.getByteBuffer(0, sendBuffer.size());
            framing.frame(datagram.duplicate(), out);
            int packetLength = out.position();
            while (true) {
                try {
                    long sent = libc.sendto(fd, sendBuffer, new NativeLong(packetLength), 0,
                            framing.destination(), framing.destination().size()).longValue();
                    if (sent != packetLength) {
                        throw new IOException("sendto sent " + sent + " of " + packetLength + " bytes");
                    }
                    break;
                } catch (LastErrorException e) {
                    int errno = e.getErrorCode();
                    if (errno == LinuxLibc.EINTR) {
                        continue;
                    }
                    if (errno == LinuxLibc.EMSGSIZE) {
                        throw new IOException("datagram of " + length + " bytes does not fit the MTU of the route to "
                                + Endpoints.format(server) + " (" + strerror(libc, errno) + ")", e);
                    }
                    throw failure(libc, "sendto " + Endpoints.format(server), e);
                }
            }
        }
        datagram.position(datagram.limit());
    }

    /**
     * Waits up to {@code timeout} for the next datagram from the server to our port and copies its
     * UDP payload into {@code dst}. Like {@link DatagramChannel#receive}, a payload longer than
     * {@code dst.remaining()} is truncated. Concurrent receivers take turns, each within its own
     * timeout.
     *
     * @return the number of bytes copied, or -1 if nothing arrived in time
     * @throws AsynchronousCloseException if {@link #close()} was called while waiting
     * @throws InterruptedIOException if the thread was interrupted while waiting (within about
     *     100 ms); its interrupt status stays set and the transport stays open
     */
    @Override
    public int receive(ByteBuffer dst, Duration timeout) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout: " + timeout);
        }
        long start = System.nanoTime();
        long timeoutNanos = saturatedNanos(timeout);
        try {
            if (!receiveLock.tryLock(timeoutNanos, TimeUnit.NANOSECONDS)) {
                return -1;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for another receiver");
        }
        try {
            ensureOpen();
            LinuxLibc.PollFd[] fds = (LinuxLibc.PollFd[]) new LinuxLibc.PollFd().toArray(2);
            while (true) {
                int n = readOne();
                if (n >= 0) {
                    ByteBuffer packet = receiveBuffer.getByteBuffer(0, n);
                    try {
                        framing.unframe(packet, senderBuffer.getByteBuffer(0, senderLength.getValue()));
                    } catch (MalformedPacketException e) {
                        droppedAfterFilter.incrementAndGet();
                        log.debug("dropped a datagram that passed the socket filter: {}", e.getMessage());
                        continue;
                    }
                    int copied = Math.min(packet.remaining(), dst.remaining());
                    packet.limit(packet.position() + copied);
                    dst.put(packet);
                    return copied;
                }
                long left = timeoutNanos - (System.nanoTime() - start);
                if (left <= 0) {
                    return -1;
                }
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedIOException("interrupted while waiting for a datagram from "
                            + Endpoints.format(server));
                }
                if (!awaitReadable(fds, Math.min(left, TimeUnit.MILLISECONDS.toNanos(POLL_SLICE_MILLIS)))) {
                    throw new AsynchronousCloseException();
                }
            }
        } finally {
            receiveLock.unlock();
        }
    }

    /** Idempotent. Releases the socket once no other thread is using it. */
    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        wakeReceiver();
        synchronized (sendLock) {
            receiveLock.lock();
            try {
                closeQuietly(libc, wakeFd);
                try {
                    libc.close(fd);
                } catch (LastErrorException e) {
                    // Linux releases the descriptor even when close() reports an error.
                    throw failure(libc, "close", e);
                }
                log.debug("raw UDP transport closed: {} -> {}", Endpoints.format(local), Endpoints.format(server));
            } finally {
                receiveLock.unlock();
            }
        }
    }

    /**
     * How many datagrams the kernel's filter let through but the checks in Java refused. Stays 0
     * unless the filter is wrong or a packet is corrupt; a non-zero value is worth a look.
     */
    long droppedAfterFilter() {
        return droppedAfterFilter.get();
    }

    @Override
    public String toString() {
        return "RawUdpTransport[" + Endpoints.format(local) + " -> " + Endpoints.format(server)
                + (closed.get() ? ", closed" : "") + "]";
    }

    /**
     * Reads one packet without blocking, its sender into {@link #senderBuffer}: the packet's
     * length, or -1 if none is queued.
     */
    private int readOne() throws IOException {
        while (true) {
            try {
                senderLength.setValue((int) senderBuffer.size());
                int n = libc.recvfrom(fd, receiveBuffer, new NativeLong(receiveBuffer.size()), LinuxLibc.MSG_DONTWAIT,
                        senderBuffer, senderLength).intValue();
                // The kernel reports the full address length even when it had to cut the address short.
                senderLength.setValue(Math.min(senderLength.getValue(), (int) senderBuffer.size()));
                return n;
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno == LinuxLibc.EAGAIN) {
                    return -1;
                }
                if (errno == LinuxLibc.EINTR) {
                    continue;
                }
                if (ICMP_ERRNOS.contains(errno)) {
                    log.debug("ICMP error reported on the raw socket: {}", strerror(libc, errno));
                    continue;
                }
                throw failure(libc, "recv", e);
            }
        }
    }

    /** Polls until the socket is readable or the time is up: false if closed meanwhile. */
    private boolean awaitReadable(LinuxLibc.PollFd[] fds, long nanos) throws IOException {
        fds[0].fd = fd;
        fds[0].events = LinuxLibc.POLLIN;
        fds[0].revents = 0;
        fds[1].fd = wakeFd;
        fds[1].events = LinuxLibc.POLLIN;
        fds[1].revents = 0;
        // Round up: poll would otherwise return just before the deadline and we would spin.
        long millis = Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
        try {
            libc.poll(fds, new NativeLong(2), (int) millis);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != LinuxLibc.EINTR) {
                throw failure(libc, "poll", e);
            }
        }
        if (closed.get() || fds[1].revents != 0) {
            return false;
        }
        if ((fds[0].revents & LinuxLibc.POLLNVAL) != 0) {
            throw new IOException("poll: raw socket descriptor is invalid");
        }
        return true;
    }

    private void wakeReceiver() {
        Memory one = new Memory(8);
        one.setLong(0, 1);
        try {
            libc.write(wakeFd, one, new NativeLong(8));
        } catch (LastErrorException e) {
            // Only EAGAIN (counter saturated) is possible, and then a wake-up is pending anyway.
            log.debug("eventfd write: {}", strerror(libc, e.getErrorCode()));
        }
    }

    private void ensureOpen() throws ClosedChannelException {
        if (closed.get()) {
            throw new ClosedChannelException();
        }
    }

    static void attachFilter(LinuxLibc libc, int fd, BpfProgram program) {
        byte[] code = program.toBytes(ByteOrder.nativeOrder());
        Memory insns = new Memory(code.length);
        insns.write(0, code, 0, code.length);
        LinuxLibc.SockFprog fprog = new LinuxLibc.SockFprog(program.instructions().size(), insns);
        libc.setsockopt(fd, LinuxLibc.SOL_SOCKET, LinuxLibc.SO_ATTACH_FILTER, fprog, fprog.size());
    }

    /**
     * Discards what the socket queued between socket() and SO_ATTACH_FILTER: that was unfiltered.
     * Nothing of ours can be among it, since we have not sent anything yet.
     */
    private static void drain(LinuxLibc libc, int fd, int bufferSize) {
        Memory scratch = new Memory(bufferSize);
        int dropped = 0;
        while (true) {
            try {
                libc.recv(fd, scratch, new NativeLong(bufferSize), LinuxLibc.MSG_DONTWAIT);
                dropped++;
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno == LinuxLibc.EAGAIN) {
                    break;
                }
                if (errno != LinuxLibc.EINTR && !ICMP_ERRNOS.contains(errno)) {
                    throw e;
                }
            }
        }
        if (dropped > 0) {
            log.debug("drained {} unfiltered datagrams from the new raw socket", dropped);
        }
    }

    /** The source address the kernel picks for datagrams to {@code server}. */
    private static InetAddress routeSource(InetSocketAddress server, StandardProtocolFamily family)
            throws IOException {
        DatagramChannel probe;
        try {
            probe = DatagramChannel.open(family);
        } catch (UnsupportedOperationException e) {
            // The JVM runs with java.net.preferIPv4Stack=true, or the host has no IPv6 at all.
            throw new IOException("this JVM cannot open " + name(family) + " sockets, needed to reach "
                    + Endpoints.format(server), e);
        }
        try (probe) {
            // connect() on UDP only looks up the route; nothing is sent.
            probe.connect(server);
            return ((InetSocketAddress) probe.getLocalAddress()).getAddress();
        } catch (IOException e) {
            throw new IOException("no route to " + Endpoints.format(server) + ": " + e.getMessage(), e);
        }
    }

    private static String name(StandardProtocolFamily family) {
        return family == StandardProtocolFamily.INET6 ? "IPv6" : "IPv4";
    }

    private static LinuxLibc loadLibc() throws IOException {
        try {
            return LinuxLibc.INSTANCE;
        } catch (LinkageError e) {
            throw new IOException("cannot load libc through JNA: " + e, e);
        }
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private static IOException failure(LinuxLibc libc, String what, LastErrorException e) {
        return new IOException(what + ": " + strerror(libc, e.getErrorCode()) + " (errno " + e.getErrorCode() + ")", e);
    }

    private static String strerror(LinuxLibc libc, int errno) {
        String s = libc.strerror(errno);
        return s != null ? s : "errno " + errno;
    }

    private static void closeQuietly(LinuxLibc libc, int fd) {
        if (fd < 0) {
            return;
        }
        try {
            libc.close(fd);
        } catch (LastErrorException e) {
            log.debug("close({}): {}", fd, strerror(libc, e.getErrorCode()));
        }
    }
}
