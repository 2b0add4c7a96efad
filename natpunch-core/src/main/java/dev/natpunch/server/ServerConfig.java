package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import java.net.InetAddress;
import java.time.Clock;
import java.util.Objects;

/** A validated, immutable copy of a {@link ServerBuilder}'s settings. */
final class ServerConfig {
    final int port;
    final InetAddress bindAddress;
    final KeyPair keyPair;
    final long registrationTtlMillis;
    final long sessionTtlMillis;
    final int maxRegistrations;
    final int maxSessions;
    final int workerThreads;
    final ServerListener listener;
    final Clock clock;
    /** Handshake initiations per second per source; 0 disables the limit. */
    final double handshakesPerSecond;
    final int handshakeBurst;
    /** The settings version 1 has no use for. */
    final Extensions extensions;

    /**
     * The settings that version 1 has no use for, with their defaults in {@link #DEFAULTS}.
     *
     * @param protocolVersion the highest version the server speaks, 1 or 2
     */
    record Extensions(int protocolVersion) {
        static final Extensions DEFAULTS = new Extensions(2);
    }

    ServerConfig(int port, InetAddress bindAddress, KeyPair keyPair, long registrationTtlMillis,
                 long sessionTtlMillis, int maxRegistrations, int maxSessions, int workerThreads,
                 ServerListener listener, Clock clock, double handshakesPerSecond, int handshakeBurst) {
        this(port, bindAddress, keyPair, registrationTtlMillis, sessionTtlMillis, maxRegistrations, maxSessions,
                workerThreads, listener, clock, handshakesPerSecond, handshakeBurst, Extensions.DEFAULTS);
    }

    ServerConfig(int port, InetAddress bindAddress, KeyPair keyPair, long registrationTtlMillis,
                 long sessionTtlMillis, int maxRegistrations, int maxSessions, int workerThreads,
                 ServerListener listener, Clock clock, double handshakesPerSecond, int handshakeBurst,
                 Extensions extensions) {
        this.extensions = Objects.requireNonNull(extensions, "extensions");
        this.port = port;
        this.bindAddress = bindAddress;
        this.keyPair = Objects.requireNonNull(keyPair, "keyPair");
        this.registrationTtlMillis = registrationTtlMillis;
        this.sessionTtlMillis = sessionTtlMillis;
        this.maxRegistrations = maxRegistrations;
        this.maxSessions = maxSessions;
        this.workerThreads = workerThreads;
        this.listener = listener;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.handshakesPerSecond = handshakesPerSecond;
        this.handshakeBurst = handshakeBurst;
    }
}
