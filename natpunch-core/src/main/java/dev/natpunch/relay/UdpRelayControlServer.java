package dev.natpunch.relay;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's end of the control channel. Everything but {@link #ended} runs on the control
 * port's one thread, so the session tables need no lock.
 */
final class UdpRelayControlServer implements RelayControlServer, UdpRelay.EndListener {
    private static final Logger log = LoggerFactory.getLogger(RelayControlServer.class);
    /** A server pings every second; a session this silent belongs to a server that is gone. */
    static final long SESSION_SILENCE_MILLIS = 60_000;
    private static final int HANDSHAKES_PER_SECOND = 20;
    private static final int MAX_WAITING_NOTICES = 4096;
    private static final long UNLISTED_LOG_MILLIS = 10_000;

    private final UdpRelay relay;
    private final KeyPair keys;
    private final InetSocketAddress listen;
    private final Set<Key> allowed;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    private final Map<Integer, ServerSession> byIndex = new HashMap<>();
    private final Map<Key, ServerSession> byServer = new HashMap<>();
    /** The last accepted handshake timestamp of each server key: message 1 is never accepted twice. */
    private final Map<Key, Long> timestamps = new HashMap<>();
    private final ArrayBlockingQueue<Key[]> endedPairs = new ArrayBlockingQueue<>(MAX_WAITING_NOTICES);
    private final LongAdder noticesDropped = new LongAdder();
    private final byte[] plain = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] out = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] scratch = new byte[Wire.TIMESTAMP_LENGTH];
    private TokenBucket handshakes;
    private long lastUnlistedLog = Long.MIN_VALUE / 2;
    private Port port;
    private boolean closed;

    /** A server's session and where its datagrams come from. */
    private static final class ServerSession {
        final ControlSession session;
        InetSocketAddress source;
        long lastHeardMillis;

        ServerSession(ControlSession session, InetSocketAddress source, long now) {
            this.session = session;
            this.source = source;
            this.lastHeardMillis = now;
        }
    }

    private UdpRelayControlServer(BuilderImpl b) {
        this.relay = b.relay;
        this.keys = b.keys;
        this.listen = b.listen;
        this.allowed = Set.copyOf(b.allowed);
        this.clock = relay.clock();
    }

    @Override
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("the control server was closed; build a new one");
        }
        if (port != null) {
            throw new IllegalStateException("the control server is already started");
        }
        try {
            port = new Port();
        } catch (IOException e) {
            throw new IOException("cannot listen for relay control on " + listen + ": " + e.getMessage()
                    + " (another process on that port? choose another, or an address of this host)", e);
        }
        handshakes = new TokenBucket(HANDSHAKES_PER_SECOND, HANDSHAKES_PER_SECOND, clock.millis());
        relay.endListener(this);
        port.startThread();
        log.info("Relay control on {} for {} server key{}", port.localAddress(), allowed.size(), allowed.size() == 1 ? "" : "s");
    }

    @Override
    public synchronized InetSocketAddress localAddress() {
        if (port == null) {
            throw new IllegalStateException("not started");
        }
        return port.localAddress();
    }

    @Override
    public Key publicKey() {
        return keys.publicKey();
    }

    @Override
    public void close() {
        Port p;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            p = port;
        }
        relay.endListener(null);
        if (p != null) {
            p.closePort();
        }
        byIndex.values().forEach(s -> s.session.destroy());
        byIndex.clear();
        byServer.clear();
    }

    /** From the relay's threads: queued for the control thread, dropped (and counted) when the queue is full. */
    @Override
    public void ended(Key first, Key second) {
        if (!endedPairs.offer(new Key[] {first, second})) {
            noticesDropped.increment();
        }
        Port p = port;
        if (p != null) {
            p.wakeup();
        }
    }

    /** Sessions now, for tests. */
    int sessions() {
        return byIndex.size();
    }

    // ---------------------------------------------------------------- the control thread

    private final class Port extends ControlPort {
        Port() throws IOException {
            super(listen, "natpunch-relay-control", UdpRelayControlServer.this.clock);
        }

        @Override
        void onDatagram(byte[] d, int len, InetSocketAddress from, long now) {
            if (len == Wire.INITIATION_LENGTH && d[0] == Wire.TYPE_HANDSHAKE_INITIATION) {
                handshake(d, from, now);
            } else if (Sealed.check(d, 0, len, true) == null) {
                request(d, len, from, now);
            }
        }

        @Override
        void onTick(long now) {
            sendEnded();
            for (Iterator<ServerSession> it = byServer.values().iterator(); it.hasNext(); ) {
                ServerSession s = it.next();
                if (now - s.lastHeardMillis > SESSION_SILENCE_MILLIS) {
                    it.remove();
                    byIndex.remove(s.session.index);
                    s.session.destroy();
                    log.info("Server {} silent for {} s: session closed", s.session.remoteKey.toBase64(),
                            SESSION_SILENCE_MILLIS / 1000);
                }
            }
        }
    }

    private void handshake(byte[] d, InetSocketAddress from, long now) {
        if (!handshakes.tryTake(1, now)) {
            return;
        }
        NoiseHandshake responder = NoiseHandshake.responder(keys, ControlWire.PROLOGUE);
        long timestamp;
        try {
            timestamp = HandshakeInitiation.read(responder, d, 0, scratch);
        } catch (HandshakeException e) {
            return;
        }
        Key server = responder.remoteStaticKey();
        if (!allowed.contains(server)) {
            if (now - lastUnlistedLog >= UNLISTED_LOG_MILLIS) {
                lastUnlistedLog = now;
                log.warn("Control handshake from {} with a server key that is not allowed: {} (add it with"
                        + " --allow-server if that server should use this relay)", from, server.toBase64());
            }
            return;
        }
        Long last = timestamps.get(server);
        if (last != null && timestamp <= last) {
            return;
        }
        timestamps.put(server, timestamp);
        int index;
        do {
            index = random.nextInt();
        } while (byIndex.containsKey(index));
        int n = HandshakeResponse.encode(responder, index, out, 0);
        ControlSession session = new ControlSession(index, server, responder.split(), true, now);
        ServerSession previous = byServer.put(server, new ServerSession(session, from, now));
        if (previous != null) {
            byIndex.remove(previous.session.index);
            previous.session.destroy();
        }
        byIndex.put(index, byServer.get(server));
        port.send(out, n, from);
        if (previous == null || !previous.source.equals(from)) {
            log.info("Server {} connected from {}", server.toBase64(), from);
        }
    }

    private void request(byte[] d, int len, InetSocketAddress from, long now) {
        ServerSession s = byIndex.get(Sealed.sessionIndex(d, 0));
        if (s == null) {
            return;
        }
        int n = s.session.open(d, len, plain);
        if (n < 0 || !ControlWire.check(plain, n, true)) {
            return;
        }
        s.source = from;
        s.lastHeardMillis = now;
        int id = Sealed.id(plain, 0);
        int answer;
        switch (Sealed.kind(plain, 0)) {
            case ControlWire.ALLOCATE: {
                Key requester = ControlWire.firstKey(plain);
                Key peer = ControlWire.secondKey(plain);
                AllocationResult r = relay.allocate(requester, peer, ControlWire.family(plain));
                answer = ControlWire.writeResult(plain, id, requester, peer, r);
                break;
            }
            case ControlWire.RELEASE: {
                Key requester = ControlWire.firstKey(plain);
                Key peer = ControlWire.secondKey(plain);
                relay.release(requester, peer);
                answer = ControlWire.writePair(plain, ControlWire.RELEASED, id, requester, peer);
                break;
            }
            default:
                answer = ControlWire.writeEmpty(plain, ControlWire.PONG, id);
                break;
        }
        port.send(out, s.session.seal(plain, answer, out), from);
    }

    /** Tells every connected server about the allocations that ended since the last tick. */
    private void sendEnded() {
        List<Key[]> pairs = new ArrayList<>();
        endedPairs.drainTo(pairs);
        for (Key[] pair : pairs) {
            int n = ControlWire.writePair(plain, ControlWire.ENDED, 0, pair[0], pair[1]);
            for (ServerSession s : byServer.values()) {
                port.send(out, s.session.seal(plain, n, out), s.source);
            }
        }
        long dropped = noticesDropped.sumThenReset();
        if (dropped > 0) {
            log.warn("{} end-of-allocation notices to servers dropped (more than {} waiting)", dropped,
                    MAX_WAITING_NOTICES);
        }
    }

    static final class BuilderImpl implements RelayControlServer.Builder {
        private UdpRelay relay;
        private KeyPair keys;
        private InetSocketAddress listen = new InetSocketAddress(DEFAULT_PORT);
        private final Set<Key> allowed = new LinkedHashSet<>();

        @Override
        public Builder relay(Relay relay) {
            Objects.requireNonNull(relay, "relay");
            if (!(relay instanceof UdpRelay)) {
                throw new IllegalArgumentException("the relay must be one made by Relay.builder()");
            }
            this.relay = (UdpRelay) relay;
            return this;
        }

        @Override
        public Builder keyPair(KeyPair keys) {
            this.keys = Objects.requireNonNull(keys, "keys");
            return this;
        }

        @Override
        public Builder listen(InetSocketAddress address) {
            Objects.requireNonNull(address, "address");
            if (address.isUnresolved()) {
                throw new IllegalArgumentException("the control address " + address.getHostString()
                        + " does not resolve to an address of this host");
            }
            this.listen = address;
            return this;
        }

        @Override
        public Builder allowServer(Key serverKey) {
            allowed.add(Objects.requireNonNull(serverKey, "serverKey"));
            return this;
        }

        @Override
        public RelayControlServer build() {
            if (relay == null) {
                throw new IllegalArgumentException("the control server needs a relay (RelayControlServer.Builder.relay)");
            }
            if (keys == null) {
                throw new IllegalArgumentException("the control server needs the relay's key pair (Builder.keyPair)");
            }
            if (allowed.isEmpty()) {
                throw new IllegalArgumentException("the relay would refuse every server: allow at least one"
                        + " server key (Builder.allowServer)");
            }
            return new UdpRelayControlServer(this);
        }
    }
}
