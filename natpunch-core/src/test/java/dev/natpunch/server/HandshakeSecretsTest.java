package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.Wire;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The static-static Diffie-Hellman a registration remembers: it is DH(server static, client
 * static), it is found only for a handshake from the address where the key was last seen, the
 * re-handshake that uses it completes, and it goes with the registration.
 */
class HandshakeSecretsTest {
    private final KeyPair serverKeys = KeyPair.generate();
    private final KeyPair client = KeyPair.generate();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T12:00:00Z"));
    private final PacketHandler h = new PacketHandler(ServerConfigs.forTest(serverKeys, clock, 10, 10, 0, 0));
    private final PacketHandler.Scratch scratch = new PacketHandler.Scratch();
    private final InetSocketAddress home = at("198.18.0.1", 4000);

    private static InetSocketAddress at(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A handshake of {@code client} from {@code from}; true if answered with a message 2 the client accepts. */
    private boolean handshake(InetSocketAddress from, long timestamp) throws Exception {
        NoiseHandshake hs = NoiseHandshake.initiator(client, serverKeys.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] m1 = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, 1, timestamp, new byte[8], m1, 0);
        byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
        if (h.handle(m1, 0, m1.length, from, out, 0, scratch) != Wire.RESPONSE_LENGTH) {
            return false;
        }
        HandshakeResponse.read(hs, out, 0, new byte[8]);
        return true;
    }

    private byte[] found(InetSocketAddress from) {
        HandshakeSecrets secrets = new HandshakeSecrets(h.registry);
        secrets.begin(from);
        byte[] out = new byte[32];
        return secrets.find(client.publicKey().toBytes(), 0, out) ? out : null;
    }

    @Test
    void aRegistrationRemembersTheStaticDhForItsAddressOnly() throws Exception {
        assertEquals(null, found(home), "nothing before the first handshake");
        assertTrue(handshake(home, 1));
        byte[] expected = new byte[32];
        assertTrue(org.bouncycastle.math.ec.rfc7748.X25519.calculateAgreement(serverKeys.privateKey().toBytes(), 0,
                client.publicKey().toBytes(), 0, expected, 0));
        assertArrayEquals(expected, found(home));
        assertEquals(null, found(at("198.18.0.1", 4001)), "another port");
        assertEquals(null, found(at("198.18.0.2", 4000)), "another address");

        assertTrue(handshake(home, 2), "the re-handshake that uses it completes");
        assertTrue(handshake(at("198.18.0.9", 9000), 3), "one from elsewhere computes it and completes too");
        assertArrayEquals(expected, found(at("198.18.0.9", 9000)), "and the registration moved there");

        clock.advance(RendezvousServer.DEFAULT_REGISTRATION_TTL.plusSeconds(1));
        Registration reg = h.registry.find(client.publicKey().toBytes(), 0);
        h.sweep();
        assertTrue(reg.removed);
        synchronized (reg) {
            assertFalse(reg.copySsLocked(new byte[32]), "forgotten with the registration");
        }
        assertEquals(null, found(at("198.18.0.9", 9000)));
    }

    @Test
    void aHandshakeThatFailsAfterComputingTheValueZeroesTheThreadsCopy() throws Exception {
        assertTrue(handshake(home, 5));
        // From elsewhere the value is computed (not found), then the replayed timestamp is refused.
        assertFalse(handshake(at("198.18.0.7", 7000), 5));
        assertEquals(1, h.metrics().drops(DropReason.HANDSHAKE_REPLAY));
        java.lang.reflect.Field computed = HandshakeSecrets.class.getDeclaredField("computed");
        computed.setAccessible(true);
        assertArrayEquals(new byte[32], (byte[]) computed.get(scratch.secrets(h)));
        assertTrue(handshake(home, 6));
    }
}
