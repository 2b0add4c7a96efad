package dev.natpunch.cli;

import dev.natpunch.client.PeerResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a running {@code natpunch client} leaves each peer's latest state for {@code natpunch
 * status}: one line per peer, {@code KEY STATE ENDPOINT EPOCH_MILLIS}, in {@code
 * /run/natpunch/IFACE.state}, replaced atomically on every change. Public keys and endpoints
 * only; nothing secret.
 */
final class StateFile {
    static final Path DIRECTORY = Path.of(System.getProperty("natpunch.state.dir", "/run/natpunch"));

    /** One peer's line. */
    record Entry(String state, String endpoint, long sinceMillis) {
    }

    private final Path file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    StateFile(String interfaceName) {
        this.file = DIRECTORY.resolve(interfaceName + ".state");
    }

    /** Records a peer's new state and rewrites the file; a failure costs the status view only. */
    synchronized void update(PeerResult r, String state) {
        entries.put(r.peer().toBase64(), new Entry(state.replace(' ', '-'),
                r.endpoint().map(HostPort::format).orElse("-"), System.currentTimeMillis()));
        StringBuilder s = new StringBuilder();
        entries.forEach((k, e) -> s.append(k).append(' ').append(e.state()).append(' ')
                .append(e.endpoint()).append(' ').append(e.sinceMillis()).append('\n'));
        try {
            Files.createDirectories(DIRECTORY);
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, s, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            // natpunch status then falls back to what WireGuard alone shows.
        }
    }

    /** What a client left for {@code interfaceName}, by peer key; empty when none ran. */
    static Map<String, Entry> read(String interfaceName) throws IOException {
        Map<String, Entry> out = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(DIRECTORY.resolve(interfaceName + ".state"), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return out;
        }
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length == 4) {
                try {
                    out.put(f[0], new Entry(f[1], f[2], Long.parseLong(f[3])));
                } catch (NumberFormatException ignored) {
                    // a torn or foreign line: skip it
                }
            }
        }
        return out;
    }
}
