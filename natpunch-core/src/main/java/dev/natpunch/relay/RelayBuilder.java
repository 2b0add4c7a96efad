package dev.natpunch.relay;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

final class RelayBuilder implements Relay.Builder {
    /** RELAY_RESULT carries lifetimes as 16-bit seconds. */
    private static final Duration MAX_LIFETIME = Duration.ofSeconds(65_535);

    private final Map<StandardProtocolFamily, RelayConfig.Address> addresses = new EnumMap<>(StandardProtocolFamily.class);
    private int firstPort = Relay.DEFAULT_FIRST_PORT;
    private int lastPort = Relay.DEFAULT_LAST_PORT;
    private Duration idleTimeout = Relay.DEFAULT_IDLE_TIMEOUT;
    private Duration pendingLifetime = Relay.DEFAULT_PENDING_LIFETIME;
    private Integer maxAllocations;
    private int maxPerClient = Relay.DEFAULT_MAX_PER_CLIENT;
    private int maxPending = Relay.DEFAULT_MAX_PENDING;
    private long bytesPerSecond = Relay.DEFAULT_BYTES_PER_SECOND;
    private long burstBytes = Relay.DEFAULT_BURST_BYTES;
    private int workerThreads = Math.min(2, Runtime.getRuntime().availableProcessors());
    private Clock clock = Clock.systemUTC();

    @Override
    public Relay.Builder address(InetAddress address) {
        Objects.requireNonNull(address, "address");
        if (address.isAnyLocalAddress()) {
            throw new IllegalArgumentException("the relay cannot tell clients to send to " + address.getHostAddress()
                    + ": give the address clients reach this host at as the advertised address");
        }
        return address(address, address);
    }

    @Override
    public Relay.Builder address(InetAddress bind, InetAddress advertised) {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(advertised, "advertised");
        StandardProtocolFamily family = familyOf(bind);
        if (familyOf(advertised) != family) {
            throw new IllegalArgumentException("the advertised address " + advertised.getHostAddress()
                    + " is not of the family of the bind address " + bind.getHostAddress());
        }
        if (advertised.isAnyLocalAddress() || advertised.isMulticastAddress()) {
            throw new IllegalArgumentException("clients cannot send to " + advertised.getHostAddress()
                    + ": advertise an address of this host they can reach");
        }
        if (addresses.containsKey(family)) {
            throw new IllegalArgumentException("the relay has one address per family; "
                    + addresses.get(family).advertised.getHostAddress() + " is already its "
                    + (family == StandardProtocolFamily.INET ? "IPv4" : "IPv6") + " address");
        }
        addresses.put(family, new RelayConfig.Address(bind, advertised));
        return this;
    }

    @Override
    public Relay.Builder portRange(int first, int last) {
        if (first < 1 || last > 65535 || first > last) {
            throw new IllegalArgumentException("the relay port range must be FIRST-LAST within 1-65535 with"
                    + " FIRST <= LAST, not " + first + "-" + last);
        }
        if (last - first < 1) {
            throw new IllegalArgumentException("an allocation needs two ports: the range " + first + "-" + last
                    + " is too small");
        }
        this.firstPort = first;
        this.lastPort = last;
        return this;
    }

    @Override
    public Relay.Builder idleTimeout(Duration timeout) {
        this.idleTimeout = lifetime(timeout, "idleTimeout");
        return this;
    }

    @Override
    public Relay.Builder pendingLifetime(Duration lifetime) {
        this.pendingLifetime = lifetime(lifetime, "pendingLifetime");
        return this;
    }

    @Override
    public Relay.Builder maxAllocations(int max) {
        this.maxAllocations = atLeastOne(max, "maxAllocations");
        return this;
    }

    @Override
    public Relay.Builder maxAllocationsPerClient(int max) {
        this.maxPerClient = atLeastOne(max, "maxAllocationsPerClient");
        return this;
    }

    @Override
    public Relay.Builder maxPending(int max) {
        this.maxPending = atLeastOne(max, "maxPending");
        return this;
    }

    @Override
    public Relay.Builder bandwidthLimit(long bytesPerSecond, long burstBytes) {
        if (bytesPerSecond == 0 && burstBytes == 0) {
            this.bytesPerSecond = 0;
            this.burstBytes = 0;
            return this;
        }
        if (bytesPerSecond < 1 || burstBytes < 1) {
            throw new IllegalArgumentException("the bandwidth limit needs a rate and a burst of at least 1 byte"
                    + " (or 0 and 0 for none), not " + bytesPerSecond + " B/s and " + burstBytes + " B");
        }
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = burstBytes;
        return this;
    }

    @Override
    public Relay.Builder workerThreads(int threads) {
        this.workerThreads = atLeastOne(threads, "workerThreads");
        return this;
    }

    @Override
    public Relay.Builder clock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    @Override
    public Relay build() {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("the relay needs an address clients can reach (Relay.Builder.address)");
        }
        int byPorts = (lastPort - firstPort + 1) / 2;
        int max = maxAllocations == null ? byPorts : Math.min(maxAllocations, byPorts);
        return new UdpRelay(new RelayConfig(new EnumMap<>(addresses), firstPort, lastPort, idleTimeout.toMillis(),
                pendingLifetime.toMillis(), max, maxPerClient, maxPending, bytesPerSecond, burstBytes,
                workerThreads, clock));
    }

    static StandardProtocolFamily familyOf(InetAddress a) {
        return a instanceof Inet4Address ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
    }

    private static Duration lifetime(Duration d, String name) {
        if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(MAX_LIFETIME) > 0) {
            throw new IllegalArgumentException(name + " must be 1 s to " + MAX_LIFETIME.toSeconds() + " s, got " + d);
        }
        return d;
    }

    private static int atLeastOne(int n, String name) {
        if (n < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + n);
        }
        return n;
    }
}
