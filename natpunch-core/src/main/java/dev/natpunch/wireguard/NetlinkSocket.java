package dev.natpunch.wireguard;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Platform;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;

/**
 * A NETLINK_GENERIC socket through JNA direct mapping to libc. Only I/O lives here; the bytes
 * come from {@link NetlinkMessages}.
 */
final class NetlinkSocket implements Closeable {
    static final int EAGAIN = 11;
    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_GENERIC = 16;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int SO_SNDTIMEO = 21;
    private static final int MSG_TRUNC = 0x20;

    static {
        Native.register(NetlinkSocket.class, Platform.C_LIBRARY_NAME);
    }

    private static native int socket(int domain, int type, int protocol) throws LastErrorException;

    private static native int setsockopt(int fd, int level, int name, byte[] value, int length)
            throws LastErrorException;

    private static native NativeLong send(int fd, byte[] buf, NativeLong length, int flags) throws LastErrorException;

    private static native NativeLong recv(int fd, byte[] buf, NativeLong length, int flags) throws LastErrorException;

    private static native int close(int fd) throws LastErrorException;

    private final int fd;

    private NetlinkSocket(int fd) {
        this.fd = fd;
    }

    /**
     * @throws LastErrorException if the kernel refuses the socket (e.g. netlink unavailable)
     * @throws LinkageError if JNA or libc cannot be loaded
     */
    static NetlinkSocket open(Duration timeout) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
        NetlinkSocket s = new NetlinkSocket(fd);
        try {
            byte[] tv = timeval(timeout);
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length);
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, tv.length);
        } catch (LastErrorException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private static byte[] timeval(Duration d) {
        ByteBuffer b = ByteBuffer.allocate(2 * NativeLong.SIZE).order(ByteOrder.nativeOrder());
        long sec = d.getSeconds();
        long usec = d.getNano() / 1000;
        if (NativeLong.SIZE == 8) {
            b.putLong(sec).putLong(usec);
        } else {
            b.putInt((int) sec).putInt((int) usec);
        }
        return b.array();
    }

    /** Sends one message to the kernel (an unconnected netlink socket addresses port 0). */
    void send(byte[] message) {
        long n = send(fd, message, new NativeLong(message.length), 0).longValue();
        if (n != message.length) {
            throw new LastErrorException("short netlink send: " + n + " of " + message.length + " bytes");
        }
    }

    /**
     * Receives one datagram into {@code buf}.
     *
     * @return its full length, which is larger than {@code buf} if it was truncated
     * @throws LastErrorException EAGAIN on timeout
     */
    int receive(byte[] buf) {
        return (int) recv(fd, buf, new NativeLong(buf.length), MSG_TRUNC).longValue();
    }

    @Override
    public void close() {
        close(fd);
    }
}
