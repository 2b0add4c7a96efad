package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import java.time.Clock;

/** Server configurations for tests that drive a {@link PacketHandler} directly. */
final class ServerConfigs {
    private ServerConfigs() {
    }

    /** Default TTLs, the given caps and handshake rate limit (0: none), no listener. */
    static ServerConfig forTest(KeyPair keys, Clock clock, int maxRegistrations, int maxSessions,
                                double handshakesPerSecond, int handshakeBurst) {
        return new ServerConfig(0, null, keys, RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(),
                RendezvousServer.DEFAULT_SESSION_TTL.toMillis(), maxRegistrations, maxSessions, 1, null, clock,
                handshakesPerSecond, handshakeBurst);
    }

    /** Default TTLs and caps, no listener, the given handshake rate limit. */
    static ServerConfig rateLimited(KeyPair keys, Clock clock, double perSecond, int burst) {
        return new ServerConfig(0, null, keys, RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(),
                RendezvousServer.DEFAULT_SESSION_TTL.toMillis(), 1000, 1000, 1, null, clock, perSecond, burst);
    }
}
