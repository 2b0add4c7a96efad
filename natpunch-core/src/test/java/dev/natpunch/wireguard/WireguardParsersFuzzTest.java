package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz targets for what the client reads from WireGuard: the UAPI text reply and the netlink
 * dump. Both come from a local, privileged peer, but a parser that throws anything other than its
 * checked exceptions would take the resolver down instead of reporting a bad reply.
 */
class WireguardParsersFuzzTest {
    private static final int FAMILY = 0x15;
    private static final int SEQ = 9;

    /** Only WireguardException, never a RuntimeException, whatever the reply. */
    @FuzzTest(maxDuration = "60s")
    void uapiGetReply(byte[] data) {
        String reply = new String(data, StandardCharsets.UTF_8);
        try {
            assertNotNull(UapiProtocol.parseGet("nph0", reply));
        } catch (WireguardException e) {
            return;
        }
    }

    @FuzzTest(maxDuration = "60s")
    void uapiSetReply(byte[] data) {
        try {
            UapiProtocol.checkSetReply("nph0", new String(data, StandardCharsets.UTF_8));
        } catch (WireguardException e) {
            return;
        }
    }

    /** One datagram of a device dump, then the device it completes. */
    @FuzzTest(maxDuration = "60s")
    void netlinkDeviceDump(byte[] data) {
        NetlinkMessages.DeviceDump dump = new NetlinkMessages(ByteOrder.LITTLE_ENDIAN).new DeviceDump("nph0", FAMILY, SEQ);
        try {
            if (!dump.accept(data, data.length)) {
                return;
            }
            assertNotNull(dump.device());
        } catch (WireguardException | NetlinkErrno e) {
            return;
        }
    }

    @FuzzTest(maxDuration = "60s")
    void netlinkFamilyReply(byte[] data) {
        try {
            new NetlinkMessages(ByteOrder.LITTLE_ENDIAN).parseFamilyReply(data, data.length, SEQ);
            new NetlinkMessages(ByteOrder.LITTLE_ENDIAN).parseAck(data, data.length, SEQ);
        } catch (WireguardException | NetlinkErrno e) {
            return;
        }
    }
}
