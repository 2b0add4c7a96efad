package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class WireEndpointTest {
    private static final int ALL = 0xffff;

    private static V2Rejection check(String hex, int kinds) {
        return WireEndpoint.check(V2Examples.HEX.parseHex(hex), 0, kinds);
    }

    @Test
    void roundTrips() {
        for (WireEndpoint e : new WireEndpoint[] {V2Examples.SRFLX_V4, V2Examples.SRFLX_V6, V2Examples.LOCAL_V4,
                V2Examples.RELAY, V2Examples.ALT_BOTH}) {
            byte[] b = new byte[25];
            assertEquals(22, e.write(b, 3));
            assertNull(WireEndpoint.check(b, 3, e.kind().bit()));
            assertEquals(e, WireEndpoint.read(b, 3));
            assertEquals(e.port(), WireEndpoint.port(b, 3));
            assertEquals(e.family(), WireEndpoint.family(b, 3));
            assertEquals(e.kind().code(), WireEndpoint.kindCode(b, 3));
        }
        byte[] b = new byte[19];
        V2Examples.SRFLX_V4.write(b, 0);
        assertEquals(0xc6120007, WireEndpoint.ipv4(b, 0));
        assertEquals("SERVER_REFLEXIVE [2001:db8:0:0:0:0:0:7]:51820", V2Examples.SRFLX_V6.toString());
    }

    @Test
    void staticWritersMatchTheRecord() throws Exception {
        byte[] a = new byte[19];
        byte[] b = new byte[19];
        WireEndpoint.writeIpv4(a, 0, 1, 0xc6120007, 51820);
        V2Examples.SRFLX_V4.write(b, 0);
        assertEquals(V2Examples.HEX.formatHex(b), V2Examples.HEX.formatHex(a));
        WireEndpoint.writeIpv6(a, 0, 1, InetAddress.getByName("2001:db8::7").getAddress(), 0, 51820);
        V2Examples.SRFLX_V6.write(b, 0);
        assertEquals(V2Examples.HEX.formatHex(b), V2Examples.HEX.formatHex(a));
        assertTrue(WireEndpoint.sameAddressAndPort(a, 0, b, 0));
        V2Examples.LOCAL_V4.write(b, 0);
        assertFalse(WireEndpoint.sameAddressAndPort(a, 0, b, 0));
        byte[] c = new byte[19];
        WireEndpoint.writeIpv6(c, 0, 2, InetAddress.getByName("2001:db8::7").getAddress(), 0, 51820);
        assertTrue(WireEndpoint.sameAddressAndPort(a, 0, c, 0), "kind does not count");
    }

    @Test
    void rejections() {
        String mapped = "00000000000000000000ffff";
        assertNull(check("14" + mapped + "c6120007ca6c", ALL));
        assertEquals(V2Rejection.ENDPOINT, check("15" + mapped + "c6120007ca6c", ALL), "family 5");
        assertEquals(V2Rejection.ENDPOINT, check("10" + mapped + "c6120007ca6c", ALL), "family 0");
        for (int kind : new int[] {0, 4, 5, 6, 7, 12, 13, 14, 15}) {
            assertEquals(V2Rejection.ENDPOINT, check(Integer.toHexString(kind) + "4" + mapped + "c6120007ca6c", ALL),
                    "kind " + kind);
        }
        assertEquals(V2Rejection.ENDPOINT_KIND, check("24" + mapped + "c6120007ca6c", WireEndpoint.Kind.SERVER_REFLEXIVE.bit()));
        assertEquals(V2Rejection.ENDPOINT_KIND, check("84" + mapped + "c6120007ca6c", WireEndpoint.KINDS_PEER));
        assertEquals(V2Rejection.ENDPOINT, check("14" + "00000000000000000000fffe" + "c6120007ca6c", ALL), "v4 not mapped");
        assertEquals(V2Rejection.ENDPOINT, check("14" + "01000000000000000000ffff" + "c6120007ca6c", ALL), "v4 not mapped");
        assertEquals(V2Rejection.ENDPOINT, check("14" + mapped + "00000000ca6c", ALL), "0.0.0.0");
        assertEquals(V2Rejection.ENDPOINT, check("16" + "00".repeat(16) + "ca6c", ALL), "::");
        assertEquals(V2Rejection.ENDPOINT, check("16" + mapped + "c6120007ca6c", ALL), "mapped address as family 6");
        assertEquals(V2Rejection.ENDPOINT, check("14" + mapped + "c61200070000", ALL), "port 0");
        assertNull(check("16" + "00".repeat(15) + "01" + "0001", ALL), "::1 port 1 is well formed; policy is the server's");
    }

    @Test
    void constructorRules() throws Exception {
        InetAddress a = InetAddress.getByName("198.18.0.7");
        assertThrows(IllegalArgumentException.class, () -> new WireEndpoint(WireEndpoint.Kind.LOCAL, a, 0));
        assertThrows(IllegalArgumentException.class, () -> new WireEndpoint(WireEndpoint.Kind.LOCAL, a, 65536));
        assertThrows(IllegalArgumentException.class,
                () -> new WireEndpoint(WireEndpoint.Kind.LOCAL, InetAddress.getByName("::"), 1));
        assertThrows(NullPointerException.class, () -> new WireEndpoint(null, a, 1));
        assertNull(WireEndpoint.Kind.of(0));
        assertEquals(WireEndpoint.Kind.SERVER_ALT_BOTH, WireEndpoint.Kind.of(11));
    }
}
