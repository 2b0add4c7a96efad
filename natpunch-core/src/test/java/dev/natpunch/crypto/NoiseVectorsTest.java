package dev.natpunch.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Conformance with the published Noise test vectors for Noise_IK_25519_ChaChaPoly_BLAKE2s
 * (cacophony): both handshake messages and the transport messages after Split().
 */
class NoiseVectorsTest {
    private static final HexFormat HEX = HexFormat.of();

    private static final class Vector {
        final Map<String, byte[]> fields = new HashMap<>();
        final List<byte[][]> messages = new ArrayList<>();
    }

    private static Vector load(String resource) throws IOException {
        Vector v = new Vector();
        try (InputStream in = NoiseVectorsTest.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("missing test resource " + resource);
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.trim().split("\\s+");
                if (parts[0].equals("name")) {
                    assertEquals("Noise_IK_25519_ChaChaPoly_BLAKE2s", parts[1]);
                } else if (parts[0].equals("msg")) {
                    v.messages.add(new byte[][] {HEX.parseHex(parts[1]), HEX.parseHex(parts[2])});
                } else {
                    v.fields.put(parts[0], HEX.parseHex(parts[1]));
                }
            }
        }
        return v;
    }

    private static KeyPair pair(byte[] priv) {
        return KeyPair.fromPrivateKey(Key.fromBytes(priv));
    }

    @Test
    void cacophonyVector() throws Exception {
        Vector v = load("/noise/cacophony-IK_25519_ChaChaPoly_BLAKE2s.txt");
        Map<String, byte[]> f = v.fields;
        assertEquals(6, v.messages.size());
        // The vector's remote static is the responder's public key.
        assertArrayEquals(f.get("init_remote_static"), pair(f.get("resp_static")).publicKey().toBytes());

        NoiseHandshake init = NoiseHandshake.initiator(pair(f.get("init_static")),
                Key.fromBytes(f.get("init_remote_static")), f.get("init_prologue"), pair(f.get("init_ephemeral")));
        NoiseHandshake resp = NoiseHandshake.responder(pair(f.get("resp_static")), f.get("resp_prologue"),
                pair(f.get("resp_ephemeral")));

        byte[] buf = new byte[1024];
        byte[] payload = new byte[1024];

        byte[][] m1 = v.messages.get(0);
        int n = init.writeMessage(m1[0], 0, m1[0].length, buf, 0);
        assertArrayEquals(m1[1], Arrays.copyOf(buf, n), "message 1");
        assertEquals(m1[0].length, resp.readMessage(m1[1], 0, m1[1].length, payload, 0));
        assertArrayEquals(m1[0], Arrays.copyOf(payload, m1[0].length));
        assertEquals(pair(f.get("init_static")).publicKey(), resp.remoteStaticKey());

        byte[][] m2 = v.messages.get(1);
        n = resp.writeMessage(m2[0], 0, m2[0].length, buf, 0);
        assertArrayEquals(m2[1], Arrays.copyOf(buf, n), "message 2");
        assertEquals(m2[0].length, init.readMessage(m2[1], 0, m2[1].length, payload, 0));
        assertArrayEquals(m2[0], Arrays.copyOf(payload, m2[0].length));

        assertTrue(init.isComplete());
        assertTrue(resp.isComplete());
        assertArrayEquals(init.handshakeHash(), resp.handshakeHash());
        TransportKeys ik = init.split();
        TransportKeys rk = resp.split();
        long initCounter = 0;
        long respCounter = 0;
        for (int i = 2; i < v.messages.size(); i++) {
            byte[][] m = v.messages.get(i);
            boolean fromInitiator = i % 2 == 0;
            CipherState sender = fromInitiator ? ik.sender() : rk.sender();
            CipherState receiver = fromInitiator ? rk.receiver() : ik.receiver();
            long counter = fromInitiator ? initCounter++ : respCounter++;
            n = sender.seal(counter, m[0], 0, m[0].length, buf, 0);
            assertArrayEquals(m[1], Arrays.copyOf(buf, n), "transport message " + i);
            assertEquals(m[0].length, receiver.open(counter, m[1], 0, m[1].length, payload, 0));
            assertArrayEquals(m[0], Arrays.copyOf(payload, m[0].length));
        }
    }
}
