package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.relay.RelayAllocator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
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
    /** Answers RELAY requests; null when this server offers no relay. */
    final RelayAllocator relay;

    /**
     * The settings that version 1 has no use for, with their defaults in {@link #DEFAULTS}.
     *
     * @param protocolVersion the highest version the server speaks, 1 or 2
     * @param subscriptionsPerSession cap on one session's subscription set, at most 65535 (the
     *     wire field)
     * @param totalSubscriptions cap on all sessions' subscriptions together
     * @param listen the primary addresses; empty: {@code port} and {@code bindAddress}
     * @param probePort the NAT probe port next to each primary address, 0 for none
     * @param alternateAddresses second addresses for NAT probing, at most one per family
     * @param allowList the keys served, null for all
     * @param allowFile the file {@code allowList} is loaded from and reloaded when it changes, or null
     * @param mutual whether A is shown to B only if A asked for B
     */
    record Extensions(int protocolVersion, int subscriptionsPerSession, long totalSubscriptions,
                      List<InetSocketAddress> listen, int probePort, List<InetAddress> alternateAddresses,
                      AllowList allowList, java.nio.file.Path allowFile, boolean mutual) {
        /** protocol-v2.md 6.2's default. */
        static final int DEFAULT_SUBSCRIPTIONS_PER_SESSION = 1024;
        /** About 200 bytes each (two map entries and a key copy), an eighth of the heap at most. */
        static final int SUBSCRIPTION_BYTES = 200;
        static final Extensions DEFAULTS = new Extensions(2, DEFAULT_SUBSCRIPTIONS_PER_SESSION,
                ServerBuilder.defaultCap(10_000_000, 8, SUBSCRIPTION_BYTES), List.of(), 0, List.of(), null, null, false);

        Extensions(int protocolVersion, int subscriptionsPerSession, long totalSubscriptions) {
            this(protocolVersion, subscriptionsPerSession, totalSubscriptions, List.of(), 0, List.of(), null, null,
                    false);
        }

        Extensions {
            listen = List.copyOf(listen);
            alternateAddresses = List.copyOf(alternateAddresses);
            if (subscriptionsPerSession < 0 || subscriptionsPerSession > 65535) {
                throw new IllegalArgumentException("subscriptions per session must be 0 to 65535");
            }
        }

        Extensions withSockets(List<InetSocketAddress> primaries, int probe, List<InetAddress> alternates) {
            return new Extensions(protocolVersion, subscriptionsPerSession, totalSubscriptions, primaries, probe,
                    alternates, allowList, allowFile, mutual);
        }

        Extensions withProtocolVersion(int version) {
            return new Extensions(version, subscriptionsPerSession, totalSubscriptions, listen, probePort,
                    alternateAddresses, allowList, allowFile, mutual);
        }

        Extensions withAccess(AllowList allow, java.nio.file.Path file, boolean mutualMode) {
            return new Extensions(protocolVersion, subscriptionsPerSession, totalSubscriptions, listen, probePort,
                    alternateAddresses, allow, file, mutualMode);
        }
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
        this(port, bindAddress, keyPair, registrationTtlMillis, sessionTtlMillis, maxRegistrations, maxSessions,
                workerThreads, listener, clock, handshakesPerSecond, handshakeBurst, extensions, null);
    }

    ServerConfig(int port, InetAddress bindAddress, KeyPair keyPair, long registrationTtlMillis,
                 long sessionTtlMillis, int maxRegistrations, int maxSessions, int workerThreads,
                 ServerListener listener, Clock clock, double handshakesPerSecond, int handshakeBurst,
                 Extensions extensions, RelayAllocator relay) {
        this.relay = relay;
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
