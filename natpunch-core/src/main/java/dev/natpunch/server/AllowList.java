package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * The client keys a {@link RendezvousServer} serves (protocol-v2.md section 7). A server with an
 * allow-list ignores the handshakes of other keys, so it never registers them, and never reveals
 * a key that is not (or no longer) on the list: to everyone else such a key looks exactly like
 * one that is not registered. An embedder may {@link #replace} the keys at any time, from any
 * thread; the change applies to the next datagram.
 *
 * <p>The file form ({@link #parse}, {@link RendezvousServer.Builder#allowFile}) has one base64
 * public key per line; blank lines and everything after a {@code #} are ignored.
 */
public final class AllowList {
    /** The keys' bytes, sorted (unsigned), so that a lookup by raw bytes needs no allocation. */
    private volatile byte[][] sorted;

    private AllowList(byte[][] sorted) {
        this.sorted = sorted;
    }

    /** An allow-list of these keys. */
    public static AllowList of(Collection<Key> keys) {
        return new AllowList(sort(keys));
    }

    /** Replaces every key at once. */
    public void replace(Set<Key> keys) {
        sorted = sort(keys);
    }

    /** Whether {@code key} is allowed. */
    public boolean contains(Key key) {
        return contains(key.toBytes(), 0);
    }

    /** How many keys are allowed. */
    public int size() {
        return sorted.length;
    }

    /** Whether the 32 key bytes at {@code b[off..]} are allowed; allocation-free. */
    boolean contains(byte[] b, int off) {
        byte[][] s = sorted;
        int lo = 0;
        int hi = s.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(s[mid], 0, Key.LENGTH, b, off, off + Key.LENGTH);
            if (c == 0) {
                return true;
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return false;
    }

    /**
     * Reads the file form: one base64 public key per line, {@code #} starts a comment.
     *
     * @throws IOException if the file cannot be read, or a line is not a key (the message names
     *     the file and line)
     */
    public static List<Key> parse(Path file) throws IOException {
        List<Key> keys = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String text = (hash >= 0 ? line.substring(0, hash) : line).strip();
            if (text.isEmpty()) {
                continue;
            }
            try {
                keys.add(Key.fromBase64(text));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + " line " + (i + 1) + ": not a base64 WireGuard public key ("
                        + e.getMessage() + "); one key per line, # for comments");
            }
        }
        return keys;
    }

    private static byte[][] sort(Collection<Key> keys) {
        byte[][] s = keys.stream().distinct().map(Key::toBytes).toArray(byte[][]::new);
        Arrays.sort(s, Arrays::compareUnsigned);
        return s;
    }
}
