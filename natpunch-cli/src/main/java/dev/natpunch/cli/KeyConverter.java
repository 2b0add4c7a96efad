package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parses a base64 WireGuard key argument, with the reason in the message when it is not one. */
final class KeyConverter implements ITypeConverter<Key> {
    @Override
    public Key convert(String value) {
        try {
            return Key.fromBase64(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
