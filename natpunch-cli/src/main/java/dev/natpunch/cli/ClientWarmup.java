package dev.natpunch.cli;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;

/**
 * Start-up work of {@code natpunch client} that does not depend on its command line, done on a
 * second thread while picocli parses it (about 120 ms at start-up, most of it loading picocli's
 * classes, which no class-data archive can hold): seeding the random generator and building
 * X25519's tables, a Noise message 1 (BLAKE2s, ChaCha20-Poly1305), and JNA's binding of libc for the raw socket. Nothing here
 * may start slf4j, which reads its level once, after {@code -v} is parsed.
 */
final class ClientWarmup {
    private ClientWarmup() {
    }

    static void start() {
        Thread t = new Thread(ClientWarmup::run, "natpunch-warmup");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        try {
            KeyPair a = KeyPair.generate();
            KeyPair b = KeyPair.generate();
            NoiseHandshake.initiator(a, b.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE)
                    .writeMessage(new byte[0], 0, 0, new byte[NoiseHandshake.MESSAGE1_OVERHEAD], 0);
            a.destroy();
            b.destroy();
            Class.forName("dev.natpunch.net.LinuxLibc", true, ClientWarmup.class.getClassLoader());
        } catch (ClassNotFoundException | RuntimeException | LinkageError e) {
            // The client meets the same failure on its own path, and reports it there.
        }
    }
}
