package dev.natpunch.wireguard;

import com.sun.jna.LastErrorException;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** The Linux kernel's generic netlink API for WireGuard (module {@code wireguard}, Linux 5.6+). */
final class NetlinkBackend implements WireguardControl {
    /** Peers per set message: about 90 bytes each, so a message stays well under a page. */
    static final int PEERS_PER_MESSAGE = 32;

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** Bounds a dump, so a misbehaving kernel path cannot make us buffer without end. */
    private static final long MAX_DUMP_BYTES = 64L << 20;
    private static final int ENOENT = 2;
    private static final int EPERM = 1;
    private static final int EACCES = 13;
    private static final int ENODEV = 19;
    private static final int EOPNOTSUPP = 95;
    private static final int EPROTONOSUPPORT = 93;
    private static final int EAFNOSUPPORT = 97;

    private final NetlinkMessages messages = new NetlinkMessages(ByteOrder.nativeOrder());
    private final Duration timeout;

    NetlinkBackend() {
        this(DEFAULT_TIMEOUT);
    }

    NetlinkBackend(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public Device device(String interfaceName) throws WireguardException {
        Interfaces.checkName(interfaceName);
        try (NetlinkSocket socket = open()) {
            int family = resolveFamily(socket);
            return dump(socket, family, interfaceName);
        } catch (LastErrorException e) {
            throw io(interfaceName, e);
        }
    }

    @Override
    public void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException {
        updatePeers(interfaceName, List.of(update));
    }

    @Override
    public void updatePeers(String interfaceName, List<PeerUpdate> updates) throws WireguardException {
        Interfaces.checkName(interfaceName);
        if (updates.isEmpty()) {
            return;
        }
        try (NetlinkSocket socket = open()) {
            int family = resolveFamily(socket);
            Interfaces.requireConfigured(interfaceName, dump(socket, family, interfaceName), updates);
            byte[] buf = new byte[8192];
            // Message by message, each acknowledged before the next, as wg(8) fragments a large set.
            for (int from = 0; from < updates.size(); from += PEERS_PER_MESSAGE) {
                List<PeerUpdate> part = updates.subList(from, Math.min(updates.size(), from + PEERS_PER_MESSAGE));
                int seq = nextSeq();
                socket.send(messages.setPeersRequest(family, seq, interfaceName, part));
                boolean acked = false;
                while (!acked) {
                    int n = receive(socket, buf);
                    try {
                        acked = messages.parseAck(buf, n, seq);
                    } catch (NetlinkErrno e) {
                        throw kernelError(interfaceName, e.errno, "changing peer " + part.get(0).publicKey().toBase64()
                                + (part.size() > 1 ? " and " + (part.size() - 1) + " more" : ""));
                    }
                }
            }
        } catch (LastErrorException e) {
            throw io(interfaceName, e);
        }
    }

    @Override
    public String backendName() {
        return "netlink";
    }

    /** Whether netlink can be used from this JVM at all (JNA loads and a generic netlink socket opens). */
    static boolean usable() {
        try {
            NetlinkSocket.open(Duration.ofSeconds(1)).close();
            return true;
        } catch (LastErrorException | LinkageError e) {
            return false;
        }
    }

    private NetlinkSocket open() throws WireguardException {
        try {
            return NetlinkSocket.open(timeout);
        } catch (LinkageError e) {
            throw new WireguardException(WireguardException.Kind.NO_BACKEND,
                    "kernel netlink is unreachable: JNA's native library could not be loaded (" + e
                            + "); use the uapi or wg backend, or " + Interfaces.INSTALL_HINT, e);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EAFNOSUPPORT || e.getErrorCode() == EPROTONOSUPPORT) {
                throw new WireguardException(WireguardException.Kind.NO_BACKEND,
                        "this system has no generic netlink (errno " + e.getErrorCode() + "); " + Interfaces.INSTALL_HINT, e);
            }
            throw new WireguardException(WireguardException.Kind.PROTOCOL,
                    "cannot open a netlink socket: errno " + e.getErrorCode(), e);
        }
    }

    private int resolveFamily(NetlinkSocket socket) throws WireguardException {
        int seq = nextSeq();
        socket.send(messages.familyRequest(seq, NetlinkMessages.WG_GENL_NAME));
        byte[] buf = new byte[8192];
        int n = receive(socket, buf);
        try {
            return messages.parseFamilyReply(buf, n, seq);
        } catch (NetlinkErrno e) {
            if (e.errno == ENOENT) {
                throw new WireguardException(WireguardException.Kind.NO_BACKEND,
                        "the kernel WireGuard module is not loaded (no generic netlink family 'wireguard');"
                                + " load it with 'modprobe wireguard', or use a userspace implementation: "
                                + Interfaces.INSTALL_HINT);
            }
            throw new WireguardException(WireguardException.Kind.PROTOCOL,
                    "resolving the netlink family 'wireguard' failed: errno " + e.errno);
        }
    }

    private Device dump(NetlinkSocket socket, int family, String interfaceName) throws WireguardException {
        int seq = nextSeq();
        socket.send(messages.getDeviceRequest(family, seq, interfaceName));
        NetlinkMessages.DeviceDump dump = messages.new DeviceDump(interfaceName, family, seq);
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        while (true) {
            int n = receive(socket, buf);
            total += n;
            if (total > MAX_DUMP_BYTES) {
                throw new WireguardException(WireguardException.Kind.PROTOCOL,
                        "the dump of '" + interfaceName + "' exceeds " + MAX_DUMP_BYTES + " bytes");
            }
            try {
                if (dump.accept(buf, n)) {
                    return dump.device();
                }
            } catch (NetlinkErrno e) {
                throw kernelError(interfaceName, e.errno, "reading");
            }
        }
    }

    private int receive(NetlinkSocket socket, byte[] buf) throws WireguardException {
        int n = socket.receive(buf);
        if (n > buf.length) {
            throw new WireguardException(WireguardException.Kind.PROTOCOL,
                    "a netlink reply of " + n + " bytes did not fit the " + buf.length + "-byte buffer");
        }
        return n;
    }

    static WireguardException kernelError(String interfaceName, int errno, String doing) {
        switch (errno) {
            case ENODEV:
                return new WireguardException(WireguardException.Kind.NO_SUCH_INTERFACE,
                        "no WireGuard interface '" + interfaceName + "' in this network namespace (ENODEV); check"
                                + " the name, or run in the namespace that has it (ip netns exec ...)");
            case EOPNOTSUPP:
                return new WireguardException(WireguardException.Kind.NOT_WIREGUARD,
                        "'" + interfaceName + "' exists but is not a WireGuard interface (EOPNOTSUPP)");
            case EPERM:
            case EACCES:
                return new WireguardException(WireguardException.Kind.PERMISSION_DENIED,
                        "the kernel refused " + doing + " '" + interfaceName + "' (errno " + errno + "); "
                                + Interfaces.PRIVILEGE_HINT);
            default:
                return new WireguardException(WireguardException.Kind.PROTOCOL,
                        "the kernel failed " + doing + " '" + interfaceName + "': errno " + errno);
        }
    }

    private WireguardException io(String interfaceName, LastErrorException e) {
        if (e.getErrorCode() == NetlinkSocket.EAGAIN) {
            return new WireguardException(WireguardException.Kind.PROTOCOL, "the kernel did not answer a netlink"
                    + " request about '" + interfaceName + "' within " + timeout.toMillis() + " ms", e);
        }
        return new WireguardException(WireguardException.Kind.PROTOCOL,
                "netlink I/O about '" + interfaceName + "' failed: " + e.getMessage(), e);
    }

    private static int nextSeq() {
        return ThreadLocalRandom.current().nextInt(1, Integer.MAX_VALUE);
    }
}
