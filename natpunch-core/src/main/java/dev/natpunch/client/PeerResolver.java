package dev.natpunch.client;

import dev.natpunch.crypto.Key;
import dev.natpunch.net.TransportFactory;
import dev.natpunch.wireguard.WireguardControl;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;

/**
 * Finds every peer of a WireGuard interface through a rendezvous server and points WireGuard at
 * it, so that both sides punch through their NATs.
 *
 * <p>The resolver registers the interface's own key with the server (a Noise IK handshake whose
 * datagrams leave from WireGuard's listen port, so the server records WireGuard's own NAT
 * mapping), asks for each peer's mapping, and sets each found peer's endpoint and persistent
 * keepalive. Peers the server does not know yet are asked again every {@link
 * Builder#retryDelay(Duration) retry delay}.
 *
 * <pre>{@code
 * try (PeerResolver resolver = PeerResolver.builder()
 *         .interfaceName("wg0")
 *         .server("rendezvous.example.net", 12345)
 *         .serverKey(Key.fromBase64("1rwvlEQkF6vL4jA1gRzlTM7I3tuZHtdq8qkLMwBs8Uw="))
 *         .build()) {
 *     ResolveReport report = resolver.resolveAll();
 * }
 * }</pre>
 *
 * <p>A resolver is used from one thread at a time; {@link #close()} may be called from any thread
 * and stops a running {@link #resolveAll()} or {@link #runContinuously()} promptly.
 */
public interface PeerResolver extends AutoCloseable {

    /** A builder with natpunch-go's defaults: retry every 2 s, persistent keepalive 25 s. */
    static Builder builder() {
        return new DefaultPeerResolver.BuilderImpl();
    }

    /**
     * Resolves every peer of the interface: retries peers the server does not know until all are
     * found or the {@link Builder#timeout(Duration) timeout} passes, then, if {@link
     * Builder#verifyHandshake(Duration) verification} is on, waits for WireGuard handshakes.
     *
     * @return one result per peer; never blocks longer than timeout + verification time + one
     *     server response timeout
     * @throws IOException if the interface cannot be read or changed, or the server cannot be
     *     reached at all (the message says what to do)
     * @throws InterruptedException if the thread is interrupted
     */
    ResolveReport resolveAll() throws IOException, InterruptedException;

    /**
     * Keeps resolving until {@link #close()} or interruption: looks up every peer each pass, and
     * updates endpoints that changed; between passes re-reads the interface every 500 ms, so that
     * a peer added to it is looked up at once. An interface without peers is no error here: the
     * resolver registers with the servers and waits for peers. Network failures are reported to
     * the listener and retried with backoff, never fatal.
     *
     * @throws IOException only for failures a retry cannot fix (no such interface, no privileges)
     * @throws InterruptedException if the thread is interrupted
     */
    void runContinuously() throws IOException, InterruptedException;

    /** Stops a running resolution promptly and releases the sockets. Idempotent. */
    @Override
    void close();

    /** Configuration of a {@link PeerResolver}. */
    interface Builder {
        /** The WireGuard interface whose peers to resolve (required). */
        Builder interfaceName(String name);

        /**
         * The rendezvous server (this or {@link #addServer} is required); the name is resolved
         * again on every reconnection, and a name with IPv4 and IPv6 addresses is used over both.
         */
        Builder server(String host, int port);

        /** The rendezvous server's public key (required with {@link #server}). */
        Builder serverKey(Key key);

        /**
         * One more rendezvous server. The resolver registers with every server and resolves from
         * whichever answer, so a server going down changes nothing for a running mesh.
         */
        Builder addServer(String host, int port, Key key);

        /**
         * The highest protocol version to speak: 2 (the default) uses batch lookups, push updates,
         * IPv6 and LAN candidates with servers that offer them and version 1 with the others; 1
         * behaves exactly like natpunch-go's client.
         */
        Builder protocolVersion(int version);

        /**
         * Whether to tell version 2 servers this machine's LAN addresses (with WireGuard's port),
         * so that peers behind the same NAT can connect even when the router does not hairpin;
         * default true. Turn it off to keep LAN addresses from the servers and other peers.
         */
        Builder advertiseLocalAddresses(boolean advertise);

        /**
         * Whether to fall back to the server's relay (protocol version 2, a server started with a
         * relay) for a peer none of whose direct endpoints gives a WireGuard handshake, for
         * example when both sides are behind symmetric NATs; needs {@link #verifyHandshake}.
         * Default true. In continuous mode a relayed peer is offered a direct path again every
         * 30 s (at the same wall-clock moments on both sides) and leaves the relay once a
         * handshake proves it.
         */
        Builder relay(boolean enabled);

        /** How to read and change WireGuard; default {@link WireguardControl#automatic()}. */
        Builder wireguard(WireguardControl control);

        /** How to reach the server; default {@link TransportFactory#raw()}. */
        Builder transport(TransportFactory factory);

        /** Pause between passes over unresolved peers; default 2 s (natpunch-go's --delay). */
        Builder retryDelay(Duration delay);

        /** Persistent keepalive set on each resolved peer, 1 to 65535 s; default 25 s. */
        Builder persistentKeepalive(int seconds);

        /** How long {@link #resolveAll()} keeps retrying peers that are not found; default 60 s. */
        Builder timeout(Duration timeout);

        /** How long to wait for each server answer; default 10 s, as natpunch-go. */
        Builder responseTimeout(Duration timeout);

        /**
         * After setting endpoints, how long to wait for WireGuard handshakes that prove the path
         * works; {@link Duration#ZERO} (the default) does not wait.
         */
        Builder verifyHandshake(Duration wait);

        /** Receives progress; default none. */
        Builder listener(ResolveListener listener);

        /** The clock for timestamps and deadlines; default the system clock. */
        Builder clock(Clock clock);

        /**
         * Builds the resolver. Nothing is opened until {@link PeerResolver#resolveAll()} or {@link
         * PeerResolver#runContinuously()}.
         *
         * @throws IllegalStateException if a required setting is missing
         */
        PeerResolver build();
    }
}
