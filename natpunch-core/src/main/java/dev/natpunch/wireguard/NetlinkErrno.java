package dev.natpunch.wireguard;

/** The kernel answered a netlink request with a negative error code; {@link #errno} is positive. */
final class NetlinkErrno extends Exception {
    private static final long serialVersionUID = 1L;

    final int errno;

    NetlinkErrno(int errno) {
        super("netlink error " + errno);
        this.errno = errno;
    }
}
