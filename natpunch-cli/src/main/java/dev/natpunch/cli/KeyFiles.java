package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/** Reads private keys from files or standard input, warning like {@code wg} does. */
final class KeyFiles {
    private KeyFiles() {
    }

    static Key read(Path file, PrintWriter err) throws IOException {
        String text;
        if (file.toString().equals("-")) {
            text = new String(System.in.readNBytes(256), StandardCharsets.US_ASCII);
        } else {
            try {
                text = Files.readString(file, StandardCharsets.US_ASCII);
            } catch (NoSuchFileException e) {
                throw new IOException("no key file " + file + ": create one with 'natpunch genkey > "
                        + file + "'", e);
            }
            warnIfReadableByOthers(file, err);
        }
        try {
            return Key.fromBase64(text);
        } catch (IllegalArgumentException e) {
            throw new Errors.UsageException(file + ": " + e.getMessage());
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
