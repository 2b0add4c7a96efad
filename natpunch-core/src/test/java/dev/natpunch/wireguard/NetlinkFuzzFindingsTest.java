package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Inputs that fuzzing ({@link WireguardParsersFuzzTest}) found to break a parser, kept as regression tests. */
class NetlinkFuzzFindingsTest {

    /**
     * Found by {@code WireguardParsersFuzzTest#netlinkDeviceDump}: a peer's
     * WGPEER_A_LAST_HANDSHAKE_TIME of (2594073387065405696 s, -8825784773206080768 ns) made
     * {@code NetlinkMessages.DeviceDump} call {@code Instant.ofEpochSecond} out of range and throw
     * a {@link java.time.DateTimeException} instead of the parser's WireguardException.
     */
    @Test
    void lastHandshakeTimeOutOfInstantRangeIsMalformedNotARuntimeException() throws IOException {
        byte[] datagram;
        try (InputStream in = getClass().getResourceAsStream("fuzz-findings/netlink-last-handshake-time-out-of-range")) {
            datagram = in.readAllBytes();
        }
        NetlinkMessages.DeviceDump dump = new NetlinkMessages(ByteOrder.LITTLE_ENDIAN).new DeviceDump("nph0", 0x15, 9);
        assertThrows(WireguardException.class, () -> dump.accept(datagram, datagram.length));
    }
}
