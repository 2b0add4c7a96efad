package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Byte-exact tests of the generic netlink encoding and decoding. The kernel WireGuard module is
 * absent on the development machine and in CI, so the backend cannot be exercised against a
 * real kernel device; instead every expected byte below was written by hand from the layout in
 * {@code include/uapi/linux/wireguard.h} and {@code linux/netlink.h}: nlmsghdr 16 bytes
 * (len u32, type u16, flags u16, seq u32, pid u32), genlmsghdr 4 bytes (cmd, version, 2 reserved),
 * nlattr 4-byte header (len u16 counting header and payload but not padding, type u16) with
 * payloads padded to 4 bytes; host byte order little-endian, sockaddr port big-endian.
 */
class NetlinkMessagesTest {
    private static final NetlinkMessages LE = new NetlinkMessages(ByteOrder.LITTLE_ENDIAN);
    private static final int FAMILY = 0x15;

    private static Key sequentialKey(int first) {
        byte[] b = new byte[32];
        for (int i = 0; i < 32; i++) {
            b[i] = (byte) (first + i);
        }
        return Key.fromBytes(b);
    }

    private static final String KEY_01 =
            "01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20";
    private static final String KEY_41 =
            "41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a 5b 5c 5d 5e 5f 60";
    private static final String KEY_81 =
            "81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f a0";

    @Test
    void familyRequestIsCtrlGetFamilyWithTheName() {
        byte[] expected = Hex.bytes(""
                + "24 00 00 00  10 00  01 00  01 00 00 00  00 00 00 00 # nlmsghdr: 36 B, GENL_ID_CTRL, REQUEST, seq 1\n"
                + "03 01 00 00                                         # CTRL_CMD_GETFAMILY, version 1\n"
                + "0e 00 02 00  77 69 72 65 67 75 61 72 64 00  00 00  # FAMILY_NAME 'wireguard\\0' + 2 pad\n");
        assertArrayEquals(expected, LE.familyRequest(1, "wireguard"), () -> Hex.of(LE.familyRequest(1, "wireguard")));
    }

    @Test
    void getDeviceIsADumpByName() {
        byte[] expected = Hex.bytes(""
                + "20 00 00 00  15 00  01 03  07 00 00 00  00 00 00 00 # 32 B, family 0x15, REQUEST|DUMP, seq 7\n"
                + "00 01 00 00                                         # WG_CMD_GET_DEVICE, version 1\n"
                + "09 00 02 00  6e 70 77 30 00  00 00 00               # IFNAME 'npw0\\0' + 3 pad\n");
        assertArrayEquals(expected, LE.getDeviceRequest(FAMILY, 7, "npw0"));
    }

    @Test
    void setPeerWithIpv4EndpointAndKeepalive() throws Exception {
        PeerUpdate update = PeerUpdate.builder(sequentialKey(1))
                .endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820))
                .persistentKeepaliveSeconds(25)
                .build();
        byte[] expected = Hex.bytes(""
                + "70 00 00 00  15 00  05 00  08 00 00 00  00 00 00 00 # 112 B, REQUEST|ACK, seq 8\n"
                + "01 01 00 00                                         # WG_CMD_SET_DEVICE, version 1\n"
                + "09 00 02 00  6e 70 77 30 00  00 00 00               # IFNAME\n"
                + "50 00 08 80                                         # PEERS, nested, 80 B\n"
                + "4c 00 00 80                                         # peer 0, nested, 76 B\n"
                + "24 00 01 00 " + KEY_01 + "                          # PUBLIC_KEY\n"
                + "08 00 03 00  04 00 00 00                            # FLAGS = UPDATE_ONLY\n"
                + "14 00 04 00  02 00  ca 6c  c6 12 00 01  00 00 00 00 00 00 00 00 # ENDPOINT sockaddr_in\n"
                + "06 00 05 00  19 00  00 00                           # PERSISTENT_KEEPALIVE u16 25 + pad\n");
        byte[] actual = LE.setPeersRequest(FAMILY, 8, "npw0", List.of(update));
        assertArrayEquals(expected, actual, () -> Hex.of(actual));
    }

    @Test
    void setPeerWithIpv6EndpointOnlyLeavesKeepaliveOut() throws Exception {
        PeerUpdate update = PeerUpdate.builder(sequentialKey(1))
                .endpoint(new InetSocketAddress(InetAddress.getByName("fd00::1"), 51820))
                .build();
        byte[] expected = Hex.bytes(""
                + "74 00 00 00  15 00  05 00  09 00 00 00  00 00 00 00 # 116 B, REQUEST|ACK, seq 9\n"
                + "01 01 00 00\n"
                + "09 00 02 00  6e 70 77 30 00  00 00 00\n"
                + "54 00 08 80                                         # PEERS 84 B\n"
                + "50 00 00 80                                         # peer 80 B\n"
                + "24 00 01 00 " + KEY_01 + "\n"
                + "08 00 03 00  04 00 00 00\n"
                + "20 00 04 00  0a 00  ca 6c  00 00 00 00              # ENDPOINT sockaddr_in6: AF_INET6, port, flowinfo\n"
                + "fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  00 00 00 00 # address, scope id\n");
        byte[] actual = LE.setPeersRequest(FAMILY, 9, "npw0", List.of(update));
        assertArrayEquals(expected, actual, () -> Hex.of(actual));
    }

    @Test
    void setPeersPutsEveryPeerInOneMessageInOrder() {
        List<PeerUpdate> updates = List.of(
                PeerUpdate.builder(sequentialKey(1)).persistentKeepaliveSeconds(0).build(),
                PeerUpdate.builder(sequentialKey(0x41)).persistentKeepaliveSeconds(25).build());
        byte[] expected = Hex.bytes(""
                + "94 00 00 00  15 00  05 00  0b 00 00 00  00 00 00 00 # 148 B, seq 11\n"
                + "01 01 00 00\n"
                + "09 00 02 00  6e 70 77 30 00  00 00 00\n"
                + "74 00 08 80                                         # PEERS 116 B\n"
                + "38 00 00 80                                         # peer 56 B\n"
                + "24 00 01 00 " + KEY_01 + "\n"
                + "08 00 03 00  04 00 00 00\n"
                + "06 00 05 00  00 00  00 00\n"
                + "38 00 00 80                                         # peer 56 B\n"
                + "24 00 01 00 " + KEY_41 + "\n"
                + "08 00 03 00  04 00 00 00\n"
                + "06 00 05 00  19 00  00 00\n");
        byte[] actual = LE.setPeersRequest(FAMILY, 11, "npw0", updates);
        assertArrayEquals(expected, actual, () -> Hex.of(actual));
    }

    @Test
    void setPeerKeepaliveOffOnlyIsZeroU16() {
        PeerUpdate update = PeerUpdate.builder(sequentialKey(1)).persistentKeepaliveSeconds(0).build();
        byte[] expected = Hex.bytes(""
                + "5c 00 00 00  15 00  05 00  0a 00 00 00  00 00 00 00 # 92 B\n"
                + "01 01 00 00\n"
                + "09 00 02 00  6e 70 77 30 00  00 00 00\n"
                + "3c 00 08 80  38 00 00 80                            # PEERS 60 B, peer 56 B\n"
                + "24 00 01 00 " + KEY_01 + "\n"
                + "08 00 03 00  04 00 00 00\n"
                + "06 00 05 00  00 00  00 00\n");
        assertArrayEquals(expected, LE.setPeersRequest(FAMILY, 10, "npw0", List.of(update)));
    }

    @Test
    void bigEndianHostsGetBigEndianHeadersButTheSamePortBytes() throws Exception {
        NetlinkMessages be = new NetlinkMessages(ByteOrder.BIG_ENDIAN);
        byte[] sa = be.sockaddr(new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820));
        assertArrayEquals(Hex.bytes("00 02  ca 6c  c6 12 00 01  00 00 00 00 00 00 00 00"), sa);
        byte[] msg = be.getDeviceRequest(FAMILY, 7, "npw0");
        assertArrayEquals(Hex.bytes("00 00 00 20  00 15  03 01  00 00 00 07  00 00 00 00  00 01 00 00"
                + "00 09 00 02  6e 70 77 30 00 00 00 00"), msg);
    }

    @Test
    void familyReplyYieldsTheId() throws Exception {
        byte[] reply = Hex.bytes(""
                + "2c 00 00 00  10 00  00 00  05 00 00 00  00 00 00 00 # 44 B from GENL_ID_CTRL, seq 5\n"
                + "01 02 00 00                                         # CTRL_CMD_NEWFAMILY, version 2\n"
                + "0e 00 02 00  77 69 72 65 67 75 61 72 64 00  00 00  # FAMILY_NAME\n"
                + "06 00 01 00  15 00  00 00                           # FAMILY_ID 0x15\n");
        assertEquals(0x15, LE.parseFamilyReply(reply, reply.length, 5));
    }

    @Test
    void unknownFamilyIsEnoent() {
        byte[] reply = Hex.bytes(""
                + "24 00 00 00  02 00  00 01  05 00 00 00  00 00 00 00 # NLMSG_ERROR, 36 B, seq 5\n"
                + "fe ff ff ff                                         # error -2 (ENOENT)\n"
                + "24 00 00 00  10 00  01 00  05 00 00 00  00 00 00 00 # the request's header\n");
        NetlinkErrno e = assertThrows(NetlinkErrno.class, () -> LE.parseFamilyReply(reply, reply.length, 5));
        assertEquals(2, e.errno);
    }

    @Test
    void ackAndRefusal() throws Exception {
        byte[] ack = Hex.bytes("24 00 00 00  02 00  00 01  08 00 00 00  00 00 00 00  00 00 00 00"
                + "70 00 00 00  15 00  05 00  08 00 00 00  00 00 00 00");
        assertTrue(LE.parseAck(ack, ack.length, 8));
        byte[] eperm = Hex.bytes("24 00 00 00  02 00  00 00  08 00 00 00  00 00 00 00  ff ff ff ff"
                + "70 00 00 00  15 00  05 00  08 00 00 00  00 00 00 00");
        assertEquals(1, assertThrows(NetlinkErrno.class, () -> LE.parseAck(eperm, eperm.length, 8)).errno);
        WireguardException mapped = NetlinkBackend.kernelError("npw0", 1, "changing");
        assertEquals(WireguardException.Kind.PERMISSION_DENIED, mapped.kind());
    }

    /** First datagram of a dump: device attributes and peer A with its first allowed IP only. */
    private static final String DUMP_PART_1 = ""
            + "f0 00 00 00  15 00  02 00  09 00 00 00  00 00 00 00 # 240 B, NLM_F_MULTI, seq 9\n"
            + "00 01 00 00                                         # WG_CMD_GET_DEVICE\n"
            + "08 00 01 00  05 00 00 00                            # IFINDEX 5\n"
            + "09 00 02 00  6e 70 77 30 00  00 00 00               # IFNAME npw0\n"
            + "24 00 03 00 " + KEY_81 + "                          # PRIVATE_KEY\n"
            + "06 00 06 00  6f ca  00 00                           # LISTEN_PORT 51823\n"
            + "08 00 07 00  42 00 00 00                            # FWMARK 0x42\n"
            + "94 00 08 80                                         # PEERS 148 B\n"
            + "90 00 00 80                                         # peer A 144 B\n"
            + "24 00 01 00 " + KEY_01 + "                          # PUBLIC_KEY\n"
            + "14 00 04 00  02 00  ca 6c  c6 12 00 02  00 00 00 00 00 00 00 00 # ENDPOINT 198.18.0.2:51820\n"
            + "06 00 05 00  19 00  00 00                           # KEEPALIVE 25\n"
            + "14 00 06 00  00 f1 53 65 00 00 00 00  05 00 00 00 00 00 00 00 # LAST_HANDSHAKE 1700000000 s + 5 ns\n"
            + "0c 00 07 00  e8 03 00 00 00 00 00 00                # RX 1000\n"
            + "0c 00 08 00  d0 07 00 00 00 00 00 00                # TX 2000\n"
            + "20 00 09 80                                         # ALLOWEDIPS 32 B\n"
            + "1c 00 00 80                                         # allowed ip 28 B\n"
            + "06 00 01 00  02 00  00 00                           # FAMILY AF_INET\n"
            + "08 00 02 00  0a 00 00 00                            # IPADDR 10.0.0.0\n"
            + "05 00 03 00  18  00 00 00                           # CIDR_MASK 24\n";

    /** Second datagram: peer A continues (key + more allowed IPs), peer B, then NLMSG_DONE. */
    private static final String DUMP_PART_2 = ""
            + "b4 00 00 00  15 00  02 00  09 00 00 00  00 00 00 00 # 180 B, NLM_F_MULTI\n"
            + "00 01 00 00\n"
            + "a0 00 08 80                                         # PEERS 160 B\n"
            + "54 00 00 80                                         # peer A again, 84 B\n"
            + "24 00 01 00 " + KEY_01 + "\n"
            + "2c 00 09 80                                         # ALLOWEDIPS 44 B\n"
            + "28 00 00 80                                         # allowed ip 40 B\n"
            + "06 00 01 00  0a 00  00 00                           # FAMILY AF_INET6\n"
            + "14 00 02 00  fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 # IPADDR fd00::\n"
            + "05 00 03 00  40  00 00 00                           # CIDR_MASK 64\n"
            + "48 00 00 80                                         # peer B 72 B\n"
            + "24 00 01 00 " + KEY_41 + "\n"
            + "20 00 09 80  1c 00 00 80\n"
            + "06 00 01 00  02 00  00 00\n"
            + "08 00 02 00  0a 01 00 01                            # 10.1.0.1\n"
            + "05 00 03 00  20  00 00 00                           # /32\n"
            + "14 00 00 00  03 00  02 00  09 00 00 00  00 00 00 00  00 00 00 00 # NLMSG_DONE, error 0\n";

    @Test
    void multipartDumpSplitInsideAPeersAllowedIpsIsMerged() throws Exception {
        NetlinkMessages.DeviceDump dump = LE.new DeviceDump("npw0", FAMILY, 9);
        byte[] part1 = Hex.bytes(DUMP_PART_1);
        byte[] part2 = Hex.bytes(DUMP_PART_2);
        assertEquals(240, part1.length);
        assertEquals(180 + 20, part2.length);
        assertFalse(dump.accept(part1, part1.length));
        assertTrue(dump.accept(part2, part2.length));
        Device d = dump.device();

        assertEquals("npw0", d.name());
        assertEquals(sequentialKey(0x81), d.privateKey().orElseThrow());
        assertEquals(KeyPair.fromPrivateKey(sequentialKey(0x81)).publicKey(), d.publicKey().orElseThrow());
        assertEquals(51823, d.listenPort());
        assertEquals(0x42, d.fwmark());
        assertEquals(2, d.peers().size());

        Peer a = d.peers().get(0);
        assertEquals(sequentialKey(1), a.publicKey());
        assertEquals(new InetSocketAddress(InetAddress.getByName("198.18.0.2"), 51820), a.endpoint().orElseThrow());
        assertEquals(25, a.persistentKeepaliveSeconds());
        assertEquals(Instant.ofEpochSecond(1_700_000_000L, 5), a.latestHandshake().orElseThrow());
        assertEquals(1000, a.rxBytes());
        assertEquals(2000, a.txBytes());
        assertEquals(List.of(AllowedIp.parse("10.0.0.0/24"), AllowedIp.parse("fd00::/64")), a.allowedIps());

        Peer b = d.peers().get(1);
        assertEquals(sequentialKey(0x41), b.publicKey());
        assertTrue(b.endpoint().isEmpty());
        assertTrue(b.latestHandshake().isEmpty());
        assertEquals(0, b.persistentKeepaliveSeconds());
        assertEquals(List.of(AllowedIp.parse("10.1.0.1/32")), b.allowedIps());
    }

    @Test
    void dumpEndingInAnErrorReportsTheErrno() {
        NetlinkMessages.DeviceDump dump = LE.new DeviceDump("npw0", FAMILY, 9);
        byte[] enodev = Hex.bytes("14 00 00 00  03 00  02 00  09 00 00 00  00 00 00 00  ed ff ff ff"); // -19
        assertEquals(19, assertThrows(NetlinkErrno.class, () -> dump.accept(enodev, enodev.length)).errno);
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE,
                NetlinkBackend.kernelError("npw0", 19, "reading").kind());
        assertEquals(WireguardException.Kind.NOT_WIREGUARD,
                NetlinkBackend.kernelError("lo", 95, "reading").kind());
    }

    @Test
    void malformedRepliesAreProtocolErrorsNotCrashes() {
        byte[] good = Hex.bytes(DUMP_PART_1);
        // An attribute claiming to run past its message.
        byte[] longAttr = good.clone();
        longAttr[16 + 4] = (byte) 0xff;
        assertProtocol(longAttr);
        // A message length larger than the datagram.
        byte[] longMsg = good.clone();
        longMsg[0] = (byte) 0xf4;
        assertProtocol(longMsg);
        // A datagram cut in the middle of the message.
        byte[] cut = java.util.Arrays.copyOf(good, 100);
        assertProtocol(cut);
        // A reply to another request.
        byte[] otherSeq = good.clone();
        otherSeq[8] = 10;
        assertProtocol(otherSeq);
        // A 31-byte key.
        byte[] shortKey = Hex.bytes("38 00 00 00  15 00  02 00  09 00 00 00  00 00 00 00  00 01 00 00"
                + "23 00 03 00 " + KEY_81.substring(0, KEY_81.length() - 3) + " 00");
        assertProtocol(shortKey);
    }

    private static void assertProtocol(byte[] datagram) {
        NetlinkMessages.DeviceDump dump = LE.new DeviceDump("npw0", FAMILY, 9);
        WireguardException e = assertThrows(WireguardException.class, () -> dump.accept(datagram, datagram.length));
        assertEquals(WireguardException.Kind.PROTOCOL, e.kind());
    }
}
