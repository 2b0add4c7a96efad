package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValueTypesTest {
    @Test
    void allowedIpParsesAndFormatsBothFamilies() throws Exception {
        AllowedIp v4 = AllowedIp.parse("10.0.0.0/24");
        assertEquals(InetAddress.getByName("10.0.0.0"), v4.address());
        assertEquals(24, v4.prefixLength());
        assertEquals("10.0.0.0/24", v4.toString());
        assertEquals("fd00::/64", AllowedIp.parse("fd00:0:0:0:0:0:0:0/64").toString());
        assertEquals("fd00::1:0:0:2/128", AllowedIp.parse("fd00:0:0:0:1:0:0:2/128").toString());
        assertEquals("::/0", AllowedIp.parse("::/0").toString());
        assertEquals("2001:db8:0:1:1:1:1:1/128", AllowedIp.parse("2001:db8::1:1:1:1:1/128").toString());
        assertEquals(AllowedIp.parse("fd00::/64"), AllowedIp.parse("FD00:0::/64"));
    }

    @Test
    void allowedIpRejectsNonsenseWithoutDns() {
        for (String bad : List.of("10.0.0.0", "10.0.0.0/33", "fd00::/129", "10.0.0/8", "256.0.0.0/8",
                "example.com/32", "zz::1/128", "10.0.0.0/-1", "10.0.0.0/", "fe80::1%eth0/64")) {
            assertThrows(IllegalArgumentException.class, () -> AllowedIp.parse(bad), bad);
        }
    }

    @Test
    void endpointsInWireguardNotation() throws Exception {
        InetSocketAddress v4 = IpText.parseEndpoint("198.18.0.1:51820");
        assertEquals(new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820), v4);
        InetSocketAddress v6 = IpText.parseEndpoint("[fd00::1]:5");
        assertEquals(new InetSocketAddress(InetAddress.getByName("fd00::1"), 5), v6);
        assertEquals("[fd00::1]:5", IpText.formatEndpoint(v6));
        assertEquals("198.18.0.1:51820", IpText.formatEndpoint(v4));
        for (String bad : List.of("fd00::1:5", "198.18.0.1", "198.18.0.1:70000", "[fd00::1]5", "host:1")) {
            assertThrows(IllegalArgumentException.class, () -> IpText.parseEndpoint(bad), bad);
        }
    }

    @Test
    void peerUpdateValidates() throws Exception {
        Key k = KeyPair.generate().publicKey();
        assertThrows(IllegalArgumentException.class, () -> PeerUpdate.builder(k).persistentKeepaliveSeconds(-1));
        assertThrows(IllegalArgumentException.class, () -> PeerUpdate.builder(k).persistentKeepaliveSeconds(65536));
        assertEquals(65535, PeerUpdate.builder(k).persistentKeepaliveSeconds(65535).build()
                .persistentKeepaliveSeconds().getAsInt());
        assertThrows(IllegalArgumentException.class,
                () -> PeerUpdate.builder(k).endpoint(InetSocketAddress.createUnresolved("example.com", 1)));
        assertThrows(IllegalArgumentException.class,
                () -> PeerUpdate.builder(k).endpoint(new InetSocketAddress(InetAddress.getByName("10.0.0.1"), 0)));
        assertThrows(IllegalStateException.class, () -> PeerUpdate.builder(k).build());
        assertThrows(NullPointerException.class, () -> PeerUpdate.builder(null));
        PeerUpdate onlyEndpoint = PeerUpdate.builder(k)
                .endpoint(new InetSocketAddress(InetAddress.getByName("10.0.0.1"), 1)).build();
        assertTrue(onlyEndpoint.persistentKeepaliveSeconds().isEmpty());
        assertEquals(k, onlyEndpoint.publicKey());
    }

    @Test
    void interfaceNamesAreCheckedLikeLinux() {
        assertEquals("npw0", Interfaces.checkName("npw0"));
        assertEquals("a23456789012345", Interfaces.checkName("a23456789012345"));
        for (String bad : new String[] {"", "a234567890123456", ".", "..", "a/b", "a b", "a:b", "-x", "\u00e9", null}) {
            assertThrows(IllegalArgumentException.class, () -> Interfaces.checkName(bad), String.valueOf(bad));
        }
        WireguardControl uapi = WireguardControl.uapi();
        assertThrows(IllegalArgumentException.class, () -> uapi.device("../../etc/x"));
    }

    @Test
    void devicePeerLookupAndNoSecretInToString() {
        KeyPair own = KeyPair.generate();
        Key a = KeyPair.generate().publicKey();
        Key b = KeyPair.generate().publicKey();
        Peer peerA = new Peer(a, null, List.of(AllowedIp.parse("10.0.0.0/24")), 0, null, 0, 0);
        Device d = new Device("npw0", own.publicKey(), own.privateKey(), 51820, 0, List.of(peerA));
        assertEquals(peerA, d.peer(a).orElseThrow());
        assertTrue(d.peer(b).isEmpty());
        assertFalse(d.toString().contains(own.privateKey().toBase64()));
        assertTrue(d.toString().contains(own.publicKey().toBase64()));
        assertThrows(UnsupportedOperationException.class, () -> d.peers().clear());
    }
}
