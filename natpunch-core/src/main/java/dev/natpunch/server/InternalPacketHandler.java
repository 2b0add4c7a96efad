package dev.natpunch.server;

import dev.natpunch.crypto.KeyPair;
import java.net.InetSocketAddress;
import java.time.Clock;

/**
 * <b>Internal, not API.</b> The server's packet handler without a socket, exposed only so that the
 * JMH benchmarks in {@code natpunch-bench} (another module and package) can measure the handshake
 * and lookup paths in isolation. It may change or disappear in any release; applications use
 * {@link RendezvousServer}.
 *
 * <p>The handler's tables are thread-safe, but each instance owns one set of working buffers, so
 * one instance must be driven by one thread at a time.
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
        return new InternalPacketHandler(new PacketHandler(new ServerConfig(0, null, serverKeys,
                RendezvousServer.DEFAULT_REGISTRATION_TTL.toMillis(), RendezvousServer.DEFAULT_SESSION_TTL.toMillis(),
                RendezvousServer.DEFAULT_MAX_REGISTRATIONS, RendezvousServer.DEFAULT_MAX_SESSIONS, 1, null, clock, 0, 0)));
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

    /** The counters, as {@link RendezvousServer#metrics()} reports them. */
    public ServerMetrics metrics() {
        return handler.metrics();
    }
}
