package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Encoder and decoder for the generic netlink messages of the kernel's WireGuard family
 * ({@code include/uapi/linux/wireguard.h}) and of nlctrl, with no I/O, so that every byte can be
 * tested without the kernel module. Host byte order is a parameter; {@code sockaddr} ports and
 * IP addresses are network order as in the kernel.
 */
final class NetlinkMessages {
    static final int NLMSG_HDRLEN = 16;
    static final int GENL_HDRLEN = 4;
    static final int NLA_HDRLEN = 4;

    static final int NLMSG_NOOP = 1;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLMSG_OVERRUN = 4;

    static final int NLM_F_REQUEST = 0x1;
    static final int NLM_F_MULTI = 0x2;
    static final int NLM_F_ACK = 0x4;
    static final int NLM_F_DUMP = 0x300;

    static final int NLA_F_NESTED = 0x8000;
    static final int NLA_TYPE_MASK = 0x3fff;

    static final int GENL_ID_CTRL = 0x10;
    static final int CTRL_CMD_GETFAMILY = 3;
    static final int CTRL_ATTR_FAMILY_ID = 1;
    static final int CTRL_ATTR_FAMILY_NAME = 2;

    static final String WG_GENL_NAME = "wireguard";
    static final int WG_GENL_VERSION = 1;
    static final int WG_CMD_GET_DEVICE = 0;
    static final int WG_CMD_SET_DEVICE = 1;

    static final int WGDEVICE_A_IFINDEX = 1;
    static final int WGDEVICE_A_IFNAME = 2;
    static final int WGDEVICE_A_PRIVATE_KEY = 3;
    static final int WGDEVICE_A_PUBLIC_KEY = 4;
    static final int WGDEVICE_A_FLAGS = 5;
    static final int WGDEVICE_A_LISTEN_PORT = 6;
    static final int WGDEVICE_A_FWMARK = 7;
    static final int WGDEVICE_A_PEERS = 8;

    static final int WGPEER_A_PUBLIC_KEY = 1;
    static final int WGPEER_A_PRESHARED_KEY = 2;
    static final int WGPEER_A_FLAGS = 3;
    static final int WGPEER_A_ENDPOINT = 4;
    static final int WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
    static final int WGPEER_A_LAST_HANDSHAKE_TIME = 6;
    static final int WGPEER_A_RX_BYTES = 7;
    static final int WGPEER_A_TX_BYTES = 8;
    static final int WGPEER_A_ALLOWEDIPS = 9;
    static final int WGPEER_A_PROTOCOL_VERSION = 10;
    static final int WGPEER_F_UPDATE_ONLY = 4;

    static final int WGALLOWEDIP_A_FAMILY = 1;
    static final int WGALLOWEDIP_A_IPADDR = 2;
    static final int WGALLOWEDIP_A_CIDR_MASK = 3;

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCKADDR_IN_LEN = 16;
    static final int SOCKADDR_IN6_LEN = 28;

    private final ByteOrder order;

    NetlinkMessages(ByteOrder order) {
        this.order = order;
    }

    /** nlctrl CTRL_CMD_GETFAMILY for {@code name}. */
    byte[] familyRequest(int seq, String name) {
        Writer w = new Writer(GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, 1);
        w.string(CTRL_ATTR_FAMILY_NAME, name);
        return w.finish();
    }

    /** WG_CMD_GET_DEVICE as a dump, selecting the device by name. */
    byte[] getDeviceRequest(int familyId, int seq, String interfaceName) {
        Writer w = new Writer(familyId, NLM_F_REQUEST | NLM_F_DUMP, seq, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
        w.string(WGDEVICE_A_IFNAME, interfaceName);
        return w.finish();
    }

    /** WG_CMD_SET_DEVICE with a single peer flagged WGPEER_F_UPDATE_ONLY, carrying only what the update names. */
    byte[] setPeersRequest(int familyId, int seq, String interfaceName, List<PeerUpdate> updates) {
        Writer w = new Writer(familyId, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
        w.string(WGDEVICE_A_IFNAME, interfaceName);
        int peers = w.nestStart(WGDEVICE_A_PEERS);
        for (PeerUpdate update : updates) {
            int peer = w.nestStart(0);
            w.attr(WGPEER_A_PUBLIC_KEY, update.publicKey().toBytes());
            w.u32(WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY);
            update.endpoint().ifPresent(e -> w.attr(WGPEER_A_ENDPOINT, sockaddr(e)));
            update.persistentKeepaliveSeconds().ifPresent(k -> w.u16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, k));
            w.nestEnd(peer);
        }
        w.nestEnd(peers);
        return w.finish();
    }

    byte[] sockaddr(InetSocketAddress endpoint) {
        InetAddress a = endpoint.getAddress();
        boolean v4 = a instanceof Inet4Address;
        ByteBuffer b = ByteBuffer.allocate(v4 ? SOCKADDR_IN_LEN : SOCKADDR_IN6_LEN).order(order);
        b.putShort((short) (v4 ? AF_INET : AF_INET6));
        b.order(ByteOrder.BIG_ENDIAN).putShort((short) endpoint.getPort()).order(order);
        if (v4) {
            b.put(a.getAddress()); // sin_zero stays zero
        } else {
            b.putInt(0); // flowinfo
            b.put(a.getAddress());
            b.putInt(0); // scope id
        }
        return b.array();
    }

    InetSocketAddress parseSockaddr(ByteBuffer b, int off, int len) throws WireguardException {
        if (len < 2) {
            throw malformed("endpoint attribute of " + len + " bytes");
        }
        int family = b.getShort(off) & 0xffff;
        int port = ((b.get(off + 2) & 0xff) << 8) | (b.get(off + 3) & 0xff);
        byte[] addr;
        if (family == AF_INET && len >= SOCKADDR_IN_LEN) {
            addr = new byte[4];
            b.get(off + 4, addr);
        } else if (family == AF_INET6 && len >= SOCKADDR_IN6_LEN) {
            addr = new byte[16];
            b.get(off + 8, addr);
        } else {
            throw malformed("endpoint with address family " + family + " in " + len + " bytes");
        }
        return new InetSocketAddress(address(addr), port);
    }

    /**
     * Reads the reply to {@link #familyRequest}: the family id.
     *
     * @throws NetlinkErrno if the kernel answered with an error (ENOENT: no such family)
     */
    int parseFamilyReply(byte[] data, int length, int seq) throws WireguardException, NetlinkErrno {
        ByteBuffer b = ByteBuffer.wrap(data, 0, length).order(order);
        int[] familyId = {-1};
        forEachMessage(b, length, seq, (type, off, len) -> {
            if (type != GENL_ID_CTRL) {
                return false;
            }
            forEachAttr(b, off + GENL_HDRLEN, off + len, (at, aoff, alen) -> {
                if (at == CTRL_ATTR_FAMILY_ID) {
                    familyId[0] = u16(b, aoff, alen);
                }
            });
            return true;
        });
        if (familyId[0] < 0) {
            throw malformed("the nlctrl reply has no family id");
        }
        return familyId[0];
    }

    /**
     * Reads the reply to a request sent with NLM_F_ACK and no dump.
     *
     * @return true once the acknowledgement was seen
     * @throws NetlinkErrno if the kernel refused the request
     */
    boolean parseAck(byte[] data, int length, int seq) throws WireguardException, NetlinkErrno {
        ByteBuffer b = ByteBuffer.wrap(data, 0, length).order(order);
        return forEachMessage(b, length, seq, (type, off, len) -> false);
    }

    /** Accumulates the messages of a WG_CMD_GET_DEVICE dump into one device. */
    final class DeviceDump {
        private final String interfaceName;
        private final int seq;
        private final int familyId;
        private Key privateKey;
        private int listenPort;
        private int fwmark;
        private final List<PeerFields> peers = new ArrayList<>();

        DeviceDump(String interfaceName, int familyId, int seq) {
            this.interfaceName = interfaceName;
            this.familyId = familyId;
            this.seq = seq;
        }

        /**
         * Feeds one datagram of the dump.
         *
         * @return true when NLMSG_DONE arrived and the device is complete
         * @throws NetlinkErrno if the kernel ended the dump with an error
         */
        boolean accept(byte[] data, int length) throws WireguardException, NetlinkErrno {
            ByteBuffer b = ByteBuffer.wrap(data, 0, length).order(order);
            return forEachMessage(b, length, seq, (type, off, len) -> {
                if (type != familyId) {
                    throw malformed("message type " + type + " in a WireGuard dump");
                }
                forEachAttr(b, off + GENL_HDRLEN, off + len, (at, aoff, alen) -> device(b, at, aoff, alen));
                return false;
            });
        }

        private void device(ByteBuffer b, int type, int off, int len) throws WireguardException {
            switch (type) {
                case WGDEVICE_A_PRIVATE_KEY:
                    Key k = key(b, off, len);
                    privateKey = k.isZero() ? null : k;
                    break;
                case WGDEVICE_A_LISTEN_PORT:
                    listenPort = u16(b, off, len);
                    break;
                case WGDEVICE_A_FWMARK:
                    fwmark = u32(b, off, len);
                    break;
                case WGDEVICE_A_PEERS:
                    forEachAttr(b, off, off + len, (pt, poff, plen) -> peer(b, poff, plen));
                    break;
                default:
                    break;
            }
        }

        private void peer(ByteBuffer b, int off, int len) throws WireguardException {
            PeerFields fields = new PeerFields();
            forEachAttr(b, off, off + len, (t, aoff, alen) -> {
                switch (t) {
                    case WGPEER_A_PUBLIC_KEY:
                        fields.publicKey = key(b, aoff, alen);
                        break;
                    case WGPEER_A_ENDPOINT:
                        fields.endpoint = parseSockaddr(b, aoff, alen);
                        break;
                    case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
                        fields.keepalive = u16(b, aoff, alen);
                        break;
                    case WGPEER_A_LAST_HANDSHAKE_TIME:
                        if (alen < 16) {
                            throw malformed("last handshake time of " + alen + " bytes");
                        }
                        long sec = b.getLong(aoff);
                        long nsec = b.getLong(aoff + 8);
                        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000L || sec > MAX_EPOCH_SECOND) {
                            throw malformed("last handshake time " + sec + " s " + nsec + " ns");
                        }
                        fields.handshake = sec == 0 && nsec == 0 ? null : Instant.ofEpochSecond(sec, nsec);
                        break;
                    case WGPEER_A_RX_BYTES:
                        fields.rx = u64(b, aoff, alen);
                        break;
                    case WGPEER_A_TX_BYTES:
                        fields.tx = u64(b, aoff, alen);
                        break;
                    case WGPEER_A_ALLOWEDIPS:
                        forEachAttr(b, aoff, aoff + alen, (it, ioff, ilen) -> fields.allowedIps.add(allowedIp(b, ioff, ilen)));
                        break;
                    default:
                        break;
                }
            });
            if (fields.publicKey == null) {
                throw malformed("a peer without a public key");
            }
            PeerFields last = peers.isEmpty() ? null : peers.get(peers.size() - 1);
            if (last != null && last.publicKey.equals(fields.publicKey)) {
                // The kernel split this peer's allowed IPs over two messages; the continuation
                // repeats only the public key.
                last.allowedIps.addAll(fields.allowedIps);
                if (fields.endpoint != null) {
                    last.endpoint = fields.endpoint;
                }
            } else {
                peers.add(fields);
            }
        }

        private AllowedIp allowedIp(ByteBuffer b, int off, int len) throws WireguardException {
            int[] family = {-1};
            byte[][] addr = {null};
            int[] cidr = {-1};
            forEachAttr(b, off, off + len, (t, aoff, alen) -> {
                if (t == WGALLOWEDIP_A_FAMILY) {
                    family[0] = u16(b, aoff, alen);
                } else if (t == WGALLOWEDIP_A_IPADDR) {
                    addr[0] = new byte[alen];
                    b.get(aoff, addr[0]);
                } else if (t == WGALLOWEDIP_A_CIDR_MASK) {
                    if (alen < 1) {
                        throw malformed("empty cidr mask");
                    }
                    cidr[0] = b.get(aoff) & 0xff;
                }
            });
            int expected = family[0] == AF_INET ? 4 : family[0] == AF_INET6 ? 16 : -1;
            if (expected < 0 || addr[0] == null || addr[0].length != expected || cidr[0] < 0) {
                throw malformed("an allowed IP without a valid family, address and mask");
            }
            try {
                return AllowedIp.of(address(addr[0]), cidr[0]);
            } catch (IllegalArgumentException e) {
                throw malformed(e.getMessage());
            }
        }

        Device device() {
            List<Peer> out = new ArrayList<>();
            for (PeerFields f : peers) {
                out.add(new Peer(f.publicKey, f.endpoint, f.allowedIps, f.keepalive, f.handshake, f.rx, f.tx));
            }
            Key publicKey = privateKey == null ? null : KeyPair.fromPrivateKey(privateKey).publicKey();
            return new Device(interfaceName, publicKey, privateKey, listenPort, fwmark, out);
        }
    }

    /** The kernel reports wall-clock times; anything past Instant's range is garbage. */
    private static final long MAX_EPOCH_SECOND = Instant.MAX.getEpochSecond();

    private static final class PeerFields {
        Key publicKey;
        InetSocketAddress endpoint;
        final List<AllowedIp> allowedIps = new ArrayList<>();
        int keepalive;
        Instant handshake;
        long rx;
        long tx;
    }

    @FunctionalInterface
    private interface MessageHandler {
        /** Handles a message of a type other than NOOP/ERROR/DONE; {@code off} is the genl header. */
        boolean handle(int type, int off, int len) throws WireguardException;
    }

    @FunctionalInterface
    private interface AttrHandler {
        void handle(int type, int off, int len) throws WireguardException;
    }

    /**
     * Walks the netlink messages of one datagram. Returns true if a message ended the exchange
     * (NLMSG_DONE, an acknowledgement, or a handler said so).
     */
    private boolean forEachMessage(ByteBuffer b, int length, int seq, MessageHandler handler)
            throws WireguardException, NetlinkErrno {
        int off = 0;
        boolean finished = false;
        while (off + NLMSG_HDRLEN <= length) {
            int len = b.getInt(off);
            int type = b.getShort(off + 4) & 0xffff;
            int msgSeq = b.getInt(off + 8);
            if (len < NLMSG_HDRLEN || len > length - off) {
                throw malformed("netlink message length " + len + " at offset " + off + " of " + length);
            }
            if (msgSeq != seq) {
                throw malformed("reply with sequence number " + msgSeq + ", expected " + seq);
            }
            int payload = off + NLMSG_HDRLEN;
            int payloadLen = len - NLMSG_HDRLEN;
            if (type == NLMSG_ERROR || type == NLMSG_DONE) {
                int error = payloadLen >= 4 ? b.getInt(payload) : 0;
                if (error < 0) {
                    throw new NetlinkErrno(-error);
                }
                finished = true;
            } else if (type == NLMSG_OVERRUN) {
                throw malformed("the kernel reported an overrun");
            } else if (type != NLMSG_NOOP) {
                if (payloadLen < GENL_HDRLEN) {
                    throw malformed("message without a generic netlink header");
                }
                finished |= handler.handle(type, payload, payloadLen);
            }
            off += align(len);
        }
        if (off < length) {
            throw malformed(length - off + " bytes of a truncated message at the end of the datagram");
        }
        return finished;
    }

    private static void forEachAttr(ByteBuffer b, int start, int end, AttrHandler handler) throws WireguardException {
        int off = start;
        while (off + NLA_HDRLEN <= end) {
            int len = b.getShort(off) & 0xffff;
            int type = b.getShort(off + 2) & NLA_TYPE_MASK;
            if (len < NLA_HDRLEN || len > end - off) {
                throw malformed("attribute length " + len + " at offset " + off);
            }
            handler.handle(type, off + NLA_HDRLEN, len - NLA_HDRLEN);
            off += align(len);
        }
    }

    static int align(int len) {
        return (len + 3) & ~3;
    }

    private static Key key(ByteBuffer b, int off, int len) throws WireguardException {
        if (len != Key.LENGTH) {
            throw malformed("key attribute of " + len + " bytes");
        }
        byte[] k = new byte[Key.LENGTH];
        b.get(off, k);
        return Key.fromBytes(k);
    }

    private static int u16(ByteBuffer b, int off, int len) throws WireguardException {
        if (len < 2) {
            throw malformed("u16 attribute of " + len + " bytes");
        }
        return b.getShort(off) & 0xffff;
    }

    private static int u32(ByteBuffer b, int off, int len) throws WireguardException {
        if (len < 4) {
            throw malformed("u32 attribute of " + len + " bytes");
        }
        return b.getInt(off);
    }

    private static long u64(ByteBuffer b, int off, int len) throws WireguardException {
        if (len < 8) {
            throw malformed("u64 attribute of " + len + " bytes");
        }
        return b.getLong(off);
    }

    private static InetAddress address(byte[] addr) {
        try {
            return InetAddress.getByAddress(addr);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("a 4- or 16-byte address is always valid", e);
        }
    }

    static WireguardException malformed(String what) {
        return new WireguardException(WireguardException.Kind.PROTOCOL, "malformed netlink reply from the kernel: " + what);
    }

    /** Builds one message: nlmsghdr, genlmsghdr, attributes padded to 4 bytes as libmnl does. */
    private final class Writer {
        private final ByteBuffer b = ByteBuffer.allocate(1024).order(order);

        Writer(int type, int flags, int seq, int cmd, int version) {
            b.putInt(0); // length, patched in finish()
            b.putShort((short) type);
            b.putShort((short) flags);
            b.putInt(seq);
            b.putInt(0); // port id: 0 lets the kernel assign ours
            b.put((byte) cmd);
            b.put((byte) version);
            b.putShort((short) 0);
        }

        void attr(int type, byte[] payload) {
            b.putShort((short) (NLA_HDRLEN + payload.length));
            b.putShort((short) type);
            b.put(payload);
            pad();
        }

        void string(int type, String s) {
            byte[] raw = s.getBytes(StandardCharsets.US_ASCII);
            byte[] z = new byte[raw.length + 1];
            System.arraycopy(raw, 0, z, 0, raw.length);
            attr(type, z);
        }

        void u16(int type, int v) {
            attr(type, ByteBuffer.allocate(2).order(order).putShort((short) v).array());
        }

        void u32(int type, int v) {
            attr(type, ByteBuffer.allocate(4).order(order).putInt(v).array());
        }

        int nestStart(int type) {
            int start = b.position();
            b.putShort((short) 0);
            b.putShort((short) (type | NLA_F_NESTED));
            return start;
        }

        void nestEnd(int start) {
            b.putShort(start, (short) (b.position() - start));
        }

        private void pad() {
            while ((b.position() & 3) != 0) {
                b.put((byte) 0);
            }
        }

        byte[] finish() {
            b.putInt(0, b.position());
            byte[] out = new byte[b.position()];
            b.get(0, out);
            return out;
        }
    }
}
