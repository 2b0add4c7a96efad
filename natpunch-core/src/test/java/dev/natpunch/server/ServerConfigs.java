package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import java.time.Clock;

/** Server configurations for tests that drive a {@link PacketHandler} directly. */
final class ServerConfigs {
    private ServerConfigs() {
    }

    /** Default TTLs, the given caps, no listener, no rate limit. */
    static ServerConfig forTest(KeyPair keys, Clock clock, int maxRegistrations, int maxSessions) {
        return new ServerConfig(0, null, keys, RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(),
                RendezvousServer.DEFAULT_SESSION_TTL.toMillis(), maxRegistrations, maxSessions, 1, null, clock);
    }
}
