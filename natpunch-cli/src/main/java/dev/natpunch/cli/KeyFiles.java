package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.CharBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Set;

/**
 * Reads private keys from files or standard input, warning like {@code wg} does. The text of the
 * key is wiped as soon as it is parsed, and no message quotes it.
 */
final class KeyFiles {
    /** A key file is 44 characters and a newline; anything much longer is not one. */
    private static final int MAX_BYTES = 1024;

    private KeyFiles() {
    }

    /**
     * The key in {@code file}, or on standard input when {@code file} is {@code -}.
     *
     * @throws Errors.UsageException if the text is not a key
     * @throws IOException if the file cannot be read (the message says why and what to do)
     */
    static Key read(Path file, PrintWriter err) throws IOException {
        if (file.toString().equals("-")) {
            try {
                return readStandardInput();
            } catch (IllegalArgumentException e) {
                throw new Errors.UsageException(e.getMessage());
            }
        }
        byte[] text;
        try (InputStream in = Files.newInputStream(file)) {
            text = in.readNBytes(MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new IOException("no key file " + file + ": create one with 'umask 077; natpunch genkey > "
                    + file + "'", e);
        } catch (AccessDeniedException e) {
            throw new IOException("cannot read the key file " + file + ": permission denied (run as its"
                    + " owner, or pass the key on standard input with --private-key-file -)", e);
        }
        warnIfReadableByOthers(file, err);
        try {
            return parse(text, file.toString());
        } catch (IllegalArgumentException e) {
            throw new Errors.UsageException(e.getMessage());
        }
    }

    /**
     * The key on standard input.
     *
     * @throws IllegalArgumentException "standard input: ..." if the text is not a key
     */
    static Key readStandardInput() throws IOException {
        return parse(System.in.readNBytes(MAX_BYTES + 1), "standard input");
    }

    private static Key parse(byte[] text, String source) {
        if (text.length > MAX_BYTES) {
            Arrays.fill(text, (byte) 0);
            throw new IllegalArgumentException(source + ": not a WireGuard key: it is longer than "
                    + MAX_BYTES + " bytes");
        }
        char[] chars = new char[text.length];
        try {
            for (int i = 0; i < text.length; i++) {
                chars[i] = (char) (text[i] & 0xff);
            }
            return Key.fromBase64(CharBuffer.wrap(chars));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        } finally {
            Arrays.fill(text, (byte) 0);
            Arrays.fill(chars, '\0');
        }
    }

    private static void warnIfReadableByOthers(Path file, PrintWriter err) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.GROUP_READ)
                    || perms.contains(PosixFilePermission.OTHERS_READ)) {
                err.println("Warning: " + file + " is readable by other users; run 'chmod 600 "
                        + file + "'");
                err.flush();
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Without POSIX permissions there is nothing meaningful to warn about.
        }
    }
}
