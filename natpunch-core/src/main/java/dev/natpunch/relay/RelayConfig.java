package dev.natpunch.relay;

import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.time.Clock;
import java.util.Map;

/** A validated, immutable copy of a {@link RelayBuilder}'s settings. */
final class RelayConfig {
    /** Where a family's relay ports are bound, and what clients are told. */
    static final class Address {
        final InetAddress bind;
        final InetAddress advertised;

        Address(InetAddress bind, InetAddress advertised) {
            this.bind = bind;
            this.advertised = advertised;
        }
    }

    final Map<StandardProtocolFamily, Address> addresses;
    final int firstPort;
    final int lastPort;
    final long idleTimeoutMillis;
    final long pendingLifetimeMillis;
    final int maxAllocations;
    final int maxPerClient;
    final int maxPending;
    /** 0: no bandwidth limit. */
    final long bytesPerSecond;
    final long burstBytes;
    final int workerThreads;
    final Clock clock;

    RelayConfig(Map<StandardProtocolFamily, Address> addresses, int firstPort, int lastPort, long idleTimeoutMillis,
                long pendingLifetimeMillis, int maxAllocations, int maxPerClient, int maxPending, long bytesPerSecond,
                long burstBytes, int workerThreads, Clock clock) {
        this.addresses = Map.copyOf(addresses);
        this.firstPort = firstPort;
        this.lastPort = lastPort;
        this.idleTimeoutMillis = idleTimeoutMillis;
        this.pendingLifetimeMillis = pendingLifetimeMillis;
        this.maxAllocations = maxAllocations;
        this.maxPerClient = maxPerClient;
        this.maxPending = maxPending;
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = burstBytes;
        this.workerThreads = workerThreads;
        this.clock = clock;
    }
}
