package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class UapiProtocolTest {
    /** A reply captured from wireguard-go 0.0.20220316 (keys replaced), plus a handshake time. */
    private static final String GET_REPLY = ""
            + "private_key=c0542d814bfecc1797fa3e2c3b12e8be02d91aea36434f0ad54b7e85edb3f27e\n"
            + "listen_port=51999\n"
            + "fwmark=66\n"
            + "public_key=33d762ee962495790f5abb3f084fbfbd68b4d4ce6e84b45266d4c2c3eb9ffa30\n"
            + "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
            + "protocol_version=1\n"
            + "endpoint=198.18.0.1:51820\n"
            + "last_handshake_time_sec=1700000000\n"
            + "last_handshake_time_nsec=123\n"
            + "tx_bytes=92\n"
            + "rx_bytes=148\n"
            + "persistent_keepalive_interval=25\n"
            + "allowed_ip=10.0.0.0/24\n"
            + "allowed_ip=fd00::/64\n"
            + "public_key=aef7128c7958b16a789562737d2b4615fe49c35e00876fae3dc30af8e699df66\n"
            + "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
            + "protocol_version=1\n"
            + "endpoint=[fd00::1]:5\n"
            + "last_handshake_time_sec=0\n"
            + "last_handshake_time_nsec=0\n"
            + "tx_bytes=0\n"
            + "rx_bytes=0\n"
            + "persistent_keepalive_interval=0\n"
            + "allowed_ip=10.1.0.1/32\n"
            + "errno=0\n\n";

    @Test
    void parsesEveryField() throws Exception {
        Device d = UapiProtocol.parseGet("npw0", GET_REPLY);
        Key priv = Key.fromHex("c0542d814bfecc1797fa3e2c3b12e8be02d91aea36434f0ad54b7e85edb3f27e");
        assertEquals(priv, d.privateKey().orElseThrow());
        assertEquals(KeyPair.fromPrivateKey(priv).publicKey(), d.publicKey().orElseThrow());
        assertEquals(51999, d.listenPort());
        assertEquals(66, d.fwmark());
        assertEquals(2, d.peers().size());
        Peer a = d.peers().get(0);
        assertEquals(Key.fromHex("33d762ee962495790f5abb3f084fbfbd68b4d4ce6e84b45266d4c2c3eb9ffa30"), a.publicKey());
        assertEquals(new InetSocketAddress(InetAddress.getByName("198.18.0.1"), 51820), a.endpoint().orElseThrow());
        assertEquals(Instant.ofEpochSecond(1_700_000_000L, 123), a.latestHandshake().orElseThrow());
        assertEquals(92, a.txBytes());
        assertEquals(148, a.rxBytes());
        assertEquals(25, a.persistentKeepaliveSeconds());
        assertEquals(List.of(AllowedIp.parse("10.0.0.0/24"), AllowedIp.parse("fd00::/64")), a.allowedIps());
        Peer b = d.peers().get(1);
        assertEquals(new InetSocketAddress(InetAddress.getByName("fd00::1"), 5), b.endpoint().orElseThrow());
        assertTrue(b.latestHandshake().isEmpty());
        assertEquals(List.of(AllowedIp.parse("10.1.0.1/32")), b.allowedIps());
    }

    @Test
    void emptyDeviceHasNoKeys() throws Exception {
        Device d = UapiProtocol.parseGet("npw0", "listen_port=0\nerrno=0\n\n");
        assertTrue(d.privateKey().isEmpty());
        assertTrue(d.publicKey().isEmpty());
        assertTrue(d.peers().isEmpty());
        Device zeroKey = UapiProtocol.parseGet("npw0", "private_key=" + "0".repeat(64) + "\nerrno=0\n\n");
        assertTrue(zeroKey.privateKey().isEmpty());
    }

    @Test
    void setRequestNamesOnlyWhatTheUpdateNames() throws Exception {
        Key k = Key.fromHex("33d762ee962495790f5abb3f084fbfbd68b4d4ce6e84b45266d4c2c3eb9ffa30");
        assertEquals("set=1\npublic_key=33d762ee962495790f5abb3f084fbfbd68b4d4ce6e84b45266d4c2c3eb9ffa30\n"
                        + "update_only=true\nendpoint=[fd00::7]:51821\npersistent_keepalive_interval=0\n\n",
                UapiProtocol.setRequest(List.of(PeerUpdate.builder(k)
                        .endpoint(new InetSocketAddress(InetAddress.getByName("fd00:0::7"), 51821))
                        .persistentKeepaliveSeconds(0).build())));
        assertEquals("set=1\npublic_key=33d762ee962495790f5abb3f084fbfbd68b4d4ce6e84b45266d4c2c3eb9ffa30\n"
                        + "update_only=true\npersistent_keepalive_interval=25\n\n",
                UapiProtocol.setRequest(List.of(PeerUpdate.builder(k).persistentKeepaliveSeconds(25).build())));
    }

    @Test
    void setRequestOfSeveralUpdatesHasABlockForEachInOrder() throws Exception {
        Key k = Key.fromHex("33d762ee962495790f5abb3f084fbfbd68b4d4ce6e84b45266d4c2c3eb9ffa30");
        Key j = Key.fromHex("0101010101010101010101010101010101010101010101010101010101010101");
        assertEquals("set=1\npublic_key=" + k.toHex() + "\nupdate_only=true\nendpoint=198.18.0.7:1\n"
                        + "persistent_keepalive_interval=0\n"
                        + "public_key=" + k.toHex() + "\nupdate_only=true\npersistent_keepalive_interval=25\n"
                        + "public_key=" + j.toHex() + "\nupdate_only=true\nendpoint=198.18.0.8:2\n\n",
                UapiProtocol.setRequest(List.of(
                        PeerUpdate.builder(k).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.7"), 1))
                                .persistentKeepaliveSeconds(0).build(),
                        PeerUpdate.builder(k).persistentKeepaliveSeconds(25).build(),
                        PeerUpdate.builder(j).endpoint(new InetSocketAddress(InetAddress.getByName("198.18.0.8"), 2))
                                .build())));
    }

    @Test
    void errnoAndGarbageAreErrors() throws Exception {
        UapiProtocol.checkSetReply("npw0", "errno=0\n\n");
        WireguardException inval = assertThrows(WireguardException.class,
                () -> UapiProtocol.checkSetReply("npw0", "errno=-22\n\n"));
        assertEquals(WireguardException.Kind.PROTOCOL, inval.kind());
        assertTrue(inval.getMessage().contains("EINVAL"), inval.getMessage());
        assertEquals(WireguardException.Kind.PERMISSION_DENIED, assertThrows(WireguardException.class,
                () -> UapiProtocol.checkSetReply("npw0", "errno=-1\n\n")).kind());
        for (String bad : List.of("\n\n", "listen_port=1\n\n", "errno=x\n\n", "nonsense\nerrno=0\n\n",
                "listen_port=70000\nerrno=0\n\n", "public_key=zz\nerrno=0\n\n",
                "public_key=" + "a".repeat(64) + "\nendpoint=nothost\nerrno=0\n\n")) {
            assertEquals(WireguardException.Kind.PROTOCOL,
                    assertThrows(WireguardException.class, () -> UapiProtocol.parseGet("npw0", bad), bad).kind());
        }
    }

    @Test
    void unknownKeysAreSkipped() throws Exception {
        Device d = UapiProtocol.parseGet("npw0", "listen_port=1\nfuture_thing=3\npublic_key=" + "a".repeat(64)
                + "\nfuture_peer_thing=x\nerrno=0\n\n");
        assertEquals(1, d.peers().size());
    }

    @Test
    void aMalformedPrivateKeyIsNeverQuotedInTheError() {
        String secret = KeyPair.generate().privateKey().toHex();
        for (String value : new String[] {secret.substring(0, 63) + "z", secret + "00", secret.substring(1)}) {
            WireguardException e = assertThrows(WireguardException.class,
                    () -> UapiProtocol.parseGet("wg0", "private_key=" + value + "\nerrno=0\n\n"));
            assertTrue(e.getMessage().contains("private_key=(hidden)"), e.getMessage());
            for (Throwable t = e; t != null; t = t.getCause()) {
                assertFalse(String.valueOf(t.getMessage()).contains(secret.substring(1, 40)), t.getMessage());
            }
        }
    }
}
