package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import dev.natpunch.relay.RelayAllocator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

final class ServerBuilder implements RendezvousServer.Builder {
    private int port;
    private InetAddress bindAddress;
    private KeyPair keyPair;
    private Duration registrationTtl = RendezvousServer.DEFAULT_REGISTRATION_TTL;
    private Duration sessionTtl = RendezvousServer.DEFAULT_SESSION_TTL;
    /** Rough heap cost of one registration and one session, estimated from their fields, for the default caps. */
    static final int REGISTRATION_BYTES = 250;
    static final int SESSION_BYTES = 400;

    private int maxRegistrations = defaultCap(RendezvousServer.DEFAULT_MAX_REGISTRATIONS, 4, REGISTRATION_BYTES);
    private int maxSessions = defaultCap(RendezvousServer.DEFAULT_MAX_SESSIONS, 16, SESSION_BYTES);
    private int workerThreads = Runtime.getRuntime().availableProcessors();
    private ServerListener listener;
    private Clock clock = Clock.systemUTC();
    private double handshakesPerSecond = RendezvousServer.DEFAULT_HANDSHAKES_PER_SECOND;
    private int handshakeBurst = RendezvousServer.DEFAULT_HANDSHAKE_BURST;
    private int protocolVersion = 2;
    private RelayAllocator relay;
    private List<InetSocketAddress> listen = List.of();
    private int probePort;
    private List<InetAddress> alternateAddresses = List.of();
    private AllowList allowList;
    private java.nio.file.Path allowFile;
    private boolean mutual;

    @Override
    public RendezvousServer.Builder port(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("UDP port must be 0..65535, got " + port);
        }
        this.port = port;
        return this;
    }

    @Override
    public RendezvousServer.Builder bindAddress(InetAddress address) {
        this.bindAddress = address;
        return this;
    }

    @Override
    public RendezvousServer.Builder keyPair(KeyPair keyPair) {
        this.keyPair = Objects.requireNonNull(keyPair, "keyPair");
        return this;
    }

    @Override
    public RendezvousServer.Builder registrationTtl(Duration ttl) {
        this.registrationTtl = positive(ttl, "registrationTtl");
        return this;
    }

    @Override
    public RendezvousServer.Builder sessionTtl(Duration ttl) {
        this.sessionTtl = positive(ttl, "sessionTtl");
        return this;
    }

    @Override
    public RendezvousServer.Builder maxRegistrations(int max) {
        this.maxRegistrations = atLeastOne(max, "maxRegistrations");
        return this;
    }

    @Override
    public RendezvousServer.Builder maxSessions(int max) {
        this.maxSessions = atLeastOne(max, "maxSessions");
        return this;
    }

    @Override
    public RendezvousServer.Builder workerThreads(int threads) {
        this.workerThreads = atLeastOne(threads, "workerThreads");
        return this;
    }

    @Override
    public RendezvousServer.Builder listener(ServerListener listener) {
        this.listener = listener;
        return this;
    }

    @Override
    public RendezvousServer.Builder clock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    @Override
    public RendezvousServer.Builder handshakeRateLimit(double perSecond, int burst) {
        if (!(perSecond >= 0) || Double.isInfinite(perSecond)) {
            throw new IllegalArgumentException("handshake rate must be a finite number >= 0, got " + perSecond);
        }
        if (perSecond > 0 && burst < 1) {
            throw new IllegalArgumentException("handshake burst must be at least 1, got " + burst);
        }
        this.handshakesPerSecond = perSecond;
        this.handshakeBurst = perSecond > 0 ? burst : 0;
        return this;
    }

    @Override
    public RendezvousServer.Builder listen(InetSocketAddress... addresses) {
        List<InetSocketAddress> list = new ArrayList<>();
        for (InetSocketAddress a : addresses) {
            Objects.requireNonNull(a, "listen address");
            if (a.isUnresolved()) {
                throw new IllegalArgumentException("listen address " + a + " is not resolved; give an IP address");
            }
            if (list.contains(a)) {
                throw new IllegalArgumentException("listen address " + a + " is given twice");
            }
            list.add(a);
        }
        this.listen = List.copyOf(list);
        return this;
    }

    @Override
    public RendezvousServer.Builder probePort(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("probe port must be 1..65535 (0: no probing), got " + port);
        }
        this.probePort = port;
        return this;
    }

    @Override
    public RendezvousServer.Builder alternateAddress(InetAddress... addresses) {
        List<InetAddress> list = new ArrayList<>();
        boolean v4 = false;
        boolean v6 = false;
        for (InetAddress a : addresses) {
            Objects.requireNonNull(a, "alternate address");
            if (a.isAnyLocalAddress()) {
                throw new IllegalArgumentException("the alternate address must be a specific address, not " + a);
            }
            boolean isV4 = a instanceof java.net.Inet4Address;
            if (isV4 ? v4 : v6) {
                throw new IllegalArgumentException("at most one alternate address per family");
            }
            v4 |= isV4;
            v6 |= !isV4;
            list.add(a);
        }
        this.alternateAddresses = List.copyOf(list);
        return this;
    }

    @Override
    public RendezvousServer.Builder allowList(AllowList list) {
        this.allowList = list;
        this.allowFile = null;
        return this;
    }

    @Override
    public RendezvousServer.Builder allowFile(java.nio.file.Path file) throws java.io.IOException {
        this.allowList = AllowList.of(AllowList.parse(file));
        this.allowFile = file;
        return this;
    }

    @Override
    public RendezvousServer.Builder mutual(boolean on) {
        this.mutual = on;
        return this;
    }

    @Override
    public RendezvousServer.Builder protocolVersion(int highest) {
        if (highest != 1 && highest != 2) {
            throw new IllegalArgumentException("protocol version must be 1 or 2, got " + highest);
        }
        this.protocolVersion = highest;
        return this;
    }

    @Override
    public RendezvousServer.Builder relay(RelayAllocator allocator) {
        this.relay = allocator;
        return this;
    }

    @Override
    public RendezvousServer build() {
        for (InetSocketAddress a : listen) {
            if (probePort != 0 && a.getPort() == probePort) {
                throw new IllegalArgumentException("the probe port " + probePort + " is also a rendezvous port;"
                        + " choose another (probe answers must never come from the rendezvous port)");
            }
        }
        if (probePort != 0 && listen.isEmpty() && port == probePort) {
            throw new IllegalArgumentException("the probe port " + probePort + " is also the rendezvous port;"
                    + " choose another (probe answers must never come from the rendezvous port)");
        }
        KeyPair keys = keyPair != null ? keyPair : KeyPair.generate();
        return new UdpRendezvousServer(new ServerConfig(port, bindAddress, keys, registrationTtl.toMillis(),
                sessionTtl.toMillis(), maxRegistrations, maxSessions, workerThreads, listener, clock,
                handshakesPerSecond, handshakeBurst, ServerConfig.Extensions.DEFAULTS.withProtocolVersion(protocolVersion)
                        .withSockets(listen, probePort, alternateAddresses).withAccess(allowList, allowFile, mutual),
                relay));
    }

    /**
     * The default cap, lowered on a small heap so that a full table takes at most
     * {@code 1/heapShare} of the JVM's maximum heap: a flood fills the table, never the heap.
     */
    static int defaultCap(int max, int heapShare, int entryBytes) {
        long fits = Runtime.getRuntime().maxMemory() / heapShare / entryBytes;
        return (int) Math.max(1_000, Math.min(max, fits));
    }

    private static Duration positive(Duration d, String name) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
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
