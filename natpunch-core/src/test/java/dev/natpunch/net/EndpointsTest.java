package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointsTest {

    @Test
    void formatsLikePeopleWriteAddresses() throws Exception {
        assertEquals("198.51.100.7:3478", Endpoints.format(new InetSocketAddress("198.51.100.7", 3478)));
        assertEquals("[::]:3478", Endpoints.format(new InetSocketAddress(InetAddress.getByName("::"), 3478)));
        assertEquals("0.0.0.0:51820", Endpoints.format(new InetSocketAddress("0.0.0.0", 51820)));
        assertEquals("[::1]:1", Endpoints.format(new InetSocketAddress("::1", 1)));
        assertEquals("[2001:db8::7]:3478", Endpoints.format(new InetSocketAddress("2001:db8:0:0:0:0:0:7", 3478)));
        assertEquals("example.org:3478", Endpoints.format(InetSocketAddress.createUnresolved("example.org", 3478)));
    }

    @Test
    void compressesTheLongestZeroRunOnlyAsRfc5952Says() throws Exception {
        assertEquals("2001:db8::1:0:0:1", Endpoints.format(InetAddress.getByName("2001:db8:0:0:1:0:0:1")));
        assertEquals("2001:0:0:1::1", Endpoints.format(InetAddress.getByName("2001:0:0:1:0:0:0:1")));
        assertEquals("2001:db8:0:1:1:1:1:1", Endpoints.format(InetAddress.getByName("2001:db8:0:1:1:1:1:1")));
        assertEquals("1::", Endpoints.format(InetAddress.getByName("1:0:0:0:0:0:0:0")));
        assertEquals("fd00:abcd:ef::ff", Endpoints.format(InetAddress.getByName("FD00:ABCD:00EF:0:0:0:0:00FF")));
        byte[] mapped = InetAddress.getByName("::ffff:192.0.2.1").getAddress(); // Java hands back 4 bytes
        byte[] v6 = new byte[16];
        v6[10] = (byte) 0xFF;
        v6[11] = (byte) 0xFF;
        System.arraycopy(mapped, 0, v6, 12, 4);
        assertEquals("::ffff:192.0.2.1", Endpoints.format(Inet6Address.getByAddress(null, v6, -1)));
        assertEquals("::ffff:1:0:1", Endpoints.format(InetAddress.getByName("0:0:0:0:ffff:1:0:1")));
        assertEquals("fe80::1%3", Endpoints.format(
                Inet6Address.getByAddress(null, InetAddress.getByName("fe80::1").getAddress(), 3)));
    }

    @Test
    void resolvesOneAddressPerFamily() throws Exception {
        Map<StandardProtocolFamily, InetSocketAddress> v6 = Endpoints.resolvePerFamily("2001:db8::7", 3478);
        assertEquals(Map.of(StandardProtocolFamily.INET6, new InetSocketAddress("2001:db8::7", 3478)), v6);
        Map<StandardProtocolFamily, InetSocketAddress> v4 = Endpoints.resolvePerFamily("198.51.100.7", 3478);
        assertEquals(List.of(StandardProtocolFamily.INET), List.copyOf(v4.keySet()));
        assertThrows(IllegalArgumentException.class, () -> Endpoints.resolvePerFamily("::1", 0));
        assertEquals(StandardProtocolFamily.INET6, Endpoints.family(InetAddress.getByName("::1")));
        assertEquals(StandardProtocolFamily.INET, Endpoints.family(InetAddress.getByName("::ffff:192.0.2.1")));
    }
}
