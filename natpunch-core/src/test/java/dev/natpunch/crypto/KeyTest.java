package dev.natpunch.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class KeyTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void base64AndHexRoundTrip() {
        for (int i = 0; i < 50; i++) {
            Key k = KeyPair.generate().privateKey();
            String b64 = k.toBase64();
            assertEquals(44, b64.length());
            assertEquals(k, Key.fromBase64(b64));
            assertEquals(k, Key.fromBase64("  " + b64 + "\n"));
            assertEquals(k, Key.fromHex(k.toHex()));
            assertArrayEquals(k.toBytes(), Key.fromBase64(b64).toBytes());
        }
    }

    @Test
    void badTextIsRejectedWithAMessage() {
        String good = KeyPair.generate().publicKey().toBase64();
        assertThrows(IllegalArgumentException.class, () -> Key.fromBase64(""));
        assertThrows(IllegalArgumentException.class, () -> Key.fromBase64(good.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Key.fromBase64(good + "A"));
        assertThrows(IllegalArgumentException.class, () -> Key.fromBase64("AAAAAAAAAAAAAAAAAAAAAA=="));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Key.fromBase64("!" + good.substring(1)));
        assertTrue(e.getMessage().contains("base64"));
        // 44 characters, but "==" padding means 31 bytes.
        assertThrows(IllegalArgumentException.class,
                () -> Key.fromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="));
        // The last character before '=' carries 2 bits past the 32 bytes; they must be zero.
        assertThrows(IllegalArgumentException.class,
                () -> Key.fromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="));
        assertEquals(Key.fromBytes(new byte[32]),
                Key.fromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        assertThrows(IllegalArgumentException.class, () -> Key.fromHex("00"));
        assertThrows(IllegalArgumentException.class, () -> Key.fromHex("zz" + "00".repeat(31)));
        assertThrows(IllegalArgumentException.class, () -> Key.fromBytes(new byte[31]));
        assertThrows(IllegalArgumentException.class, () -> Key.fromBytes(new byte[33]));
    }

    @Test
    void generatedPrivateKeysAreClamped() {
        for (int i = 0; i < 200; i++) {
            byte[] k = KeyPair.generate().privateKey().toBytes();
            assertEquals(0, k[0] & 7);
            assertEquals(0, k[31] & 0x80);
            assertEquals(0x40, k[31] & 0x40);
        }
        byte[] all = new byte[32];
        java.util.Arrays.fill(all, (byte) 0xff);
        X25519.clamp(all);
        assertEquals((byte) 0xf8, all[0]);
        assertEquals((byte) 0x7f, all[31]);
        byte[] none = new byte[32];
        X25519.clamp(none);
        assertEquals(0, none[0]);
        assertEquals(0x40, none[31]);
    }

    @Test
    void toStringNeverShowsKeyMaterial() {
        KeyPair kp = KeyPair.generate();
        Key priv = kp.privateKey();
        for (String s : new String[] {priv.toString(), kp.toString()}) {
            assertFalse(s.contains(priv.toBase64()));
            assertFalse(s.contains(priv.toHex()));
            assertFalse(s.contains(priv.toBase64().substring(0, 20)));
        }
        assertFalse(kp.publicKey().toString().contains(kp.publicKey().toBase64()));
    }

    @Test
    void equalitySemantics() {
        byte[] b = new byte[32];
        for (int i = 0; i < 32; i++) {
            b[i] = (byte) (i * 7);
        }
        Key k = Key.fromBytes(b);
        assertEquals(k, Key.fromBytes(b.clone()));
        assertEquals(k.hashCode(), Key.fromBytes(b.clone()).hashCode());
        for (int i = 0; i < 32; i++) {
            byte[] c = b.clone();
            c[i] ^= 1;
            assertNotEquals(k, Key.fromBytes(c), "byte " + i);
            assertFalse(k.equalsBytes(c, 0));
        }
        assertNotEquals(k, null);
        assertNotEquals(k, (Object) "x");
        byte[] framed = new byte[40];
        System.arraycopy(b, 0, framed, 5, 32);
        assertTrue(k.equalsBytes(framed, 5));
        assertFalse(k.equalsBytes(framed, 4));
        assertFalse(k.equalsBytes(framed, 9));
        assertFalse(k.equalsBytes(framed, -1));
        // The key is copied in and out: mutating arrays does not change it.
        b[0] ^= 1;
        assertFalse(k.equalsBytes(b, 0));
        k.toBytes()[1] ^= 1;
        b[0] ^= 1;
        assertTrue(k.equalsBytes(b, 0));
        assertTrue(Key.fromBytes(new byte[32]).isZero());
        assertFalse(k.isZero());
    }

    @Test
    void publicKeyDerivationMatchesRfc7748() {
        KeyPair alice = KeyPair.fromPrivateKey(Key.fromHex(
                "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        KeyPair bob = KeyPair.fromPrivateKey(Key.fromHex(
                "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        assertEquals("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", alice.publicKey().toHex());
        assertEquals("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bob.publicKey().toHex());
        byte[] shared1 = new byte[32];
        byte[] shared2 = new byte[32];
        assertTrue(X25519.agree(alice.privateKey().toBytes(), 0, bob.publicKey().toBytes(), 0, shared1, 0));
        assertTrue(X25519.agree(bob.privateKey().toBytes(), 0, alice.publicKey().toBytes(), 0, shared2, 0));
        assertEquals("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", HEX.formatHex(shared1));
        assertArrayEquals(shared1, shared2);
        assertFalse(X25519.agree(alice.privateKey().toBytes(), 0, new byte[32], 0, shared1, 0));
    }

    @Test
    void keyPairEqualityFollowsThePrivateKey() {
        KeyPair a = KeyPair.generate();
        assertEquals(a, KeyPair.fromPrivateKey(a.privateKey()));
        assertEquals(a.hashCode(), KeyPair.fromPrivateKey(a.privateKey()).hashCode());
        assertNotEquals(a, KeyPair.generate());
    }

    @Test
    void parsesFromAWipeableCharArrayAndKeepsNoTextInItsMessages() {
        Key k = KeyPair.generate().privateKey();
        char[] text = ("\t" + k.toBase64() + " \r\n").toCharArray();
        assertEquals(k, Key.fromBase64(java.nio.CharBuffer.wrap(text)));
        String b64 = k.toBase64();
        // Each way of being wrong, with the key's own characters around the fault.
        String[] bad = {
            b64.substring(0, 43) + "A",
            b64.substring(0, 20) + "!" + b64.substring(21),
            b64.substring(0, 20) + "\u00e9" + b64.substring(21),
            b64.substring(0, 42) + "B=",
            b64.substring(0, 42) + "==",
            b64 + b64,
        };
        for (String t : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Key.fromBase64(t), t);
            for (Throwable x = e; x != null; x = x.getCause()) {
                assertFalse(x.getMessage().contains(b64.substring(0, 8)), x.getMessage());
            }
        }
        IllegalArgumentException hex = assertThrows(IllegalArgumentException.class,
                () -> Key.fromHex(k.toHex().substring(0, 63) + "x"));
        assertEquals(null, hex.getCause(), "the hex parser's message would quote the text");
    }

    @Test
    void destroyZeroesTheKeyAndForbidsItsUse() {
        KeyPair pair = KeyPair.generate();
        Key priv = pair.privateKey();
        byte[] inside = priv.material();
        int hash = priv.hashCode();
        Key twin = Key.fromBytes(priv.toBytes());
        assertFalse(pair.isDestroyed());

        pair.destroy();

        assertTrue(priv.isDestroyed());
        assertTrue(pair.isDestroyed());
        assertArrayEquals(new byte[32], inside, "the bytes themselves are zeroed");
        assertThrows(IllegalStateException.class, priv::toBytes);
        assertThrows(IllegalStateException.class, priv::toBase64);
        assertThrows(IllegalStateException.class, priv::toHex);
        assertThrows(IllegalStateException.class, priv::isZero);
        assertThrows(IllegalStateException.class, () -> priv.copyTo(new byte[32], 0));
        assertThrows(IllegalStateException.class, () -> priv.equalsBytes(new byte[32], 0));
        assertThrows(IllegalStateException.class, () -> KeyPair.fromPrivateKey(priv));
        assertEquals(hash, priv.hashCode(), "a destroyed key does not move inside a hash table");
        assertEquals(priv, priv);
        assertNotEquals(priv, twin);
        assertNotEquals(twin, priv);
        assertNotEquals(priv, Key.fromBytes(new byte[32]));
        assertEquals("Key[destroyed]", priv.toString());
        // The public key is not secret and stays usable.
        assertEquals(44, pair.publicKey().toBase64().length());
        assertFalse(twin.isDestroyed());
        priv.destroy();
        assertTrue(priv.isDestroyed());
    }

    @Test
    void aHandshakeNeedsAKeyThatIsNotDestroyed() {
        KeyPair server = KeyPair.generate();
        KeyPair client = KeyPair.generate();
        client.destroy();
        assertThrows(IllegalStateException.class,
                () -> NoiseHandshake.initiator(client, server.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE));
        server.destroy();
        assertThrows(IllegalStateException.class,
                () -> NoiseHandshake.responder(server, NoiseHandshake.NATPUNCH_PROLOGUE));
    }
}
