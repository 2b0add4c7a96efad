package dev.natpunch.net;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;

/**
 * The few libc calls the raw transport makes, with errno surfaced as {@link LastErrorException}.
 * Constants are Linux's generic values (x86, x86_64, arm, arm64, riscv); mips, sparc, alpha and
 * parisc use other numbers for some of them and are not supported.
 */
interface LinuxLibc extends Library {

    LinuxLibc INSTANCE = Native.load("c", LinuxLibc.class);

    int AF_INET = 2;
    int AF_INET6 = 10;
    int SOCK_RAW = 3;
    int SOCK_CLOEXEC = 0x80000;
    int IPPROTO_IP = 0;
    int IPPROTO_UDP = 17;
    int IP_HDRINCL = 3;
    int IPPROTO_IPV6 = 41;
    int IPV6_CHECKSUM = 7;
    int IPV6_DONTFRAG = 62;
    int SOL_SOCKET = 1;
    int SO_ATTACH_FILTER = 26;
    int MSG_DONTWAIT = 0x40;
    int EFD_CLOEXEC = 0x80000;
    int EFD_NONBLOCK = 0x800;

    short POLLIN = 0x1;
    short POLLNVAL = 0x20;

    int EPERM = 1;
    int EINTR = 4;
    int EAGAIN = 11;
    int EACCES = 13;
    int EMSGSIZE = 90;
    int EAFNOSUPPORT = 97;

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int setsockopt(int fd, int level, int option, Pointer value, int length) throws LastErrorException;

    int setsockopt(int fd, int level, int option, Structure value, int length) throws LastErrorException;

    NativeLong sendto(int fd, Pointer buffer, NativeLong length, int flags, Structure address, int addressLength)
            throws LastErrorException;

    NativeLong recv(int fd, Pointer buffer, NativeLong length, int flags) throws LastErrorException;

    /** {@code address} receives the sender's {@code struct sockaddr}; {@code addressLength} is in-out. */
    NativeLong recvfrom(int fd, Pointer buffer, NativeLong length, int flags, Pointer address,
                        IntByReference addressLength) throws LastErrorException;

    NativeLong write(int fd, Pointer buffer, NativeLong length) throws LastErrorException;

    int poll(PollFd[] fds, NativeLong count, int timeoutMillis) throws LastErrorException;

    int eventfd(int initialValue, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    String strerror(int errno);

    /** {@code struct sockaddr_in}; port and address kept as bytes, already in network order. */
    @Structure.FieldOrder({"sin_family", "sin_port", "sin_addr", "sin_zero"})
    final class SockaddrIn extends Structure {
        public short sin_family;
        public byte[] sin_port = new byte[2];
        public byte[] sin_addr = new byte[4];
        public byte[] sin_zero = new byte[8];

        public SockaddrIn() {}

        SockaddrIn(byte[] address, int port) {
            sin_family = AF_INET;
            sin_port[0] = (byte) (port >>> 8);
            sin_port[1] = (byte) port;
            System.arraycopy(address, 0, sin_addr, 0, 4);
            write();
        }
    }

    /** {@code struct sockaddr_in6}; port and address in network order, flow info and scope id native. */
    @Structure.FieldOrder({"sin6_family", "sin6_port", "sin6_flowinfo", "sin6_addr", "sin6_scope_id"})
    final class SockaddrIn6 extends Structure {
        /** Offsets of the fields in the kernel's layout, for reading raw sockaddr bytes. */
        static final int ADDRESS_OFFSET = 8;
        static final int SCOPE_ID_OFFSET = 24;
        static final int SIZE = 28;

        public short sin6_family;
        public byte[] sin6_port = new byte[2];
        public int sin6_flowinfo;
        public byte[] sin6_addr = new byte[16];
        public int sin6_scope_id;

        public SockaddrIn6() {}

        SockaddrIn6(byte[] address, int port, int scopeId) {
            sin6_family = AF_INET6;
            sin6_port[0] = (byte) (port >>> 8);
            sin6_port[1] = (byte) port;
            System.arraycopy(address, 0, sin6_addr, 0, 16);
            sin6_scope_id = scopeId;
            write();
        }
    }

    /**
     * {@code struct sock_fprog}: u16 length, then (after padding) a pointer to the
     * {@code struct sock_filter} array, which {@link BpfProgram#toBytes} lays out.
     */
    @Structure.FieldOrder({"len", "filter"})
    final class SockFprog extends Structure {
        public short len;
        public Pointer filter;

        public SockFprog() {}

        SockFprog(int length, Pointer filter) {
            this.len = (short) length;
            this.filter = filter;
            write();
        }
    }

    /** {@code struct pollfd}. */
    @Structure.FieldOrder({"fd", "events", "revents"})
    final class PollFd extends Structure {
        public int fd;
        public short events;
        public short revents;
    }
}
