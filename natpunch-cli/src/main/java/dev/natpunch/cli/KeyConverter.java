package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses a base64 WireGuard public key argument, with the reason in the message when it is not
 * one, including a key no server or peer can hold (a low-order point, e.g. all zeros).
 */
final class KeyConverter implements ITypeConverter<Key> {
    @Override
    public Key convert(String value) {
        Key key;
        try {
            key = Key.fromBase64(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
        KeyPair probe = KeyPair.generate();
        try {
            // The handshake refuses such a key; asking it here makes that a usage error.
            NoiseHandshake.initiator(probe, key, NoiseHandshake.NATPUNCH_PROLOGUE);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException("not a usable public key: it is a low-order point, which no"
                    + " server or peer can hold; copy the key the server printed ('Public key: ...')");
        } finally {
            probe.destroy();
        }
        return key;
    }
}
