package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import java.net.InetSocketAddress;
import java.time.Clock;

/**
 * <b>Internal, not API.</b> The server's packet handler without a socket, exposed only so that the
 * benchmarks in {@code natpunch-bench} (another module and package) can measure the handshake
 * and lookup paths, the registry and the memory of registrations in isolation. It may change or
 * disappear in any release; applications use {@link RendezvousServer}.
 *
 * <p>The handler's tables are thread-safe, but each instance owns one set of working buffers, so
 * one instance must be driven by one thread at a time; {@link #forAnotherThread()} gives another
 * thread its own.
 */
public final class InternalPacketHandler {
    private final PacketHandler handler;
    private final PacketHandler.Scratch scratch = new PacketHandler.Scratch();

    private InternalPacketHandler(PacketHandler handler) {
        this.handler = handler;
    }

    /**
     * A handler with the server defaults (TTLs, caps), no listener, no handshake rate limit (the
     * benchmarks replay handshakes from one source), and the given keys and clock.
     */
    public static InternalPacketHandler create(KeyPair serverKeys, Clock clock) {
        return create(serverKeys, clock, RendezvousServer.DEFAULT_MAX_REGISTRATIONS,
                RendezvousServer.DEFAULT_MAX_SESSIONS);
    }

    /** Like {@link #create(KeyPair, Clock)} with these caps on registrations and sessions. */
    public static InternalPacketHandler create(KeyPair serverKeys, Clock clock, int maxRegistrations,
                                               int maxSessions) {
        return new InternalPacketHandler(new PacketHandler(new ServerConfig(0, null, serverKeys,
                RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(), RendezvousServer.DEFAULT_SESSION_TTL.toMillis(),
                maxRegistrations, maxSessions, 1, null, clock, 0, 0)));
    }

    /**
     * Offers PUSH to version 2 clients as a server with sockets does, with every push sent
     * nowhere: for measuring what such a session costs. Starts the push thread; {@link #close()}
     * stops it.
     */
    public void offerPushes() {
        handler.pushes.start((d, off, len, to) -> { }, "natpunch-internal-push");
    }

    /** Stops the push thread, if {@link #offerPushes()} started one. */
    public void close() {
        handler.pushes.close();
    }

    /** The same handler with working buffers of its own, for another thread. */
    public InternalPacketHandler forAnotherThread() {
        return new InternalPacketHandler(handler);
    }

    /**
     * Processes one datagram as the server would, from {@code source}.
     *
     * @return the length of the answer written to {@code out} at {@code outOff}, or -1 when the
     *     datagram was dropped
     */
    public int handle(byte[] in, int off, int len, InetSocketAddress source, byte[] out, int outOff) {
        return handler.handle(in, off, len, source, out, outOff, scratch);
    }

    /** Runs the expiry sweep the server runs periodically (against the handler's clock). */
    public void sweep() {
        handler.sweep();
    }

    /**
     * The registry's part of a handshake, without the key exchange: the registration of the key
     * at {@code key[off..off+32)} is found or created and records {@code source} as its endpoint.
     *
     * @return false when the registry is full
     */
    public boolean register(byte[] key, int off, InetSocketAddress source) {
        long now = handler.clock.millis();
        Registration reg = handler.registry.findOrCreate(key, off, now);
        if (reg == null) {
            return false;
        }
        handler.touch(reg, source, now);
        return true;
    }

    /** The registry's part of a version 1 lookup: whether the key at {@code key[off..off+32)} has a live IPv4 endpoint. */
    public boolean isRegistered(byte[] key, int off) {
        Registration reg = handler.registry.find(key, off);
        return reg != null && !reg.removed
                && reg.liveEndpoint4(handler.clock.millis(), handler.registrationTtlMillis) != 0;
    }

    /** The counters, as {@link RendezvousServer#metrics()} reports them. */
    public ServerMetrics metrics() {
        return handler.metrics();
    }
}
