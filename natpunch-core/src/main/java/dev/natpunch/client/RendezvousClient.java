package dev.natpunch.client;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.ReplayWindow;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.net.Endpoints;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Messages;
import dev.natpunch.protocol.Wire;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A protocol version 1 rendezvous client, interoperable with natpunch-go's server: it
 * authenticates to the server with the WireGuard interface's key pair (Noise IK), which registers
 * the address and port the server sees the transport's datagrams come from, and asks where peers
 * are registered.
 *
 * <pre>{@code
 * try (RendezvousClient client = new RendezvousClient(wgKeys, serverKey, UdpTransport.open(server))) {
 *     Optional<InetSocketAddress> peer = client.lookup(peerKey);
 * }
 * }</pre>
 *
 * <p>{@link #lookup} handshakes first when there is no session yet or the session is older than
 * the re-handshake age (5 minutes by default, as natpunch-go). Every request waits for its answer
 * up to the response timeout (10 seconds by default) and fails with a
 * {@link SocketTimeoutException} when none arrives; the session is then discarded so that the next
 * call starts with a fresh handshake (the server may have restarted). Version 1 answers carry no
 * request identifier; after a timeout the client discards datagrams that are already waiting
 * before it sends again, so that a late answer is not taken for the next one.
 *
 * <p>Thread-safe: calls are serialized, one request at a time.
 */
public final class RendezvousClient implements Closeable {
    /** How long a request waits for the server's answer unless configured otherwise. */
    public static final Duration DEFAULT_RESPONSE_TIMEOUT = Duration.ofSeconds(10);
    /** Session age after which a lookup first re-handshakes, unless configured otherwise. */
    public static final Duration DEFAULT_REHANDSHAKE_AFTER = Duration.ofMinutes(5);

    private static final Logger log = LoggerFactory.getLogger(RendezvousClient.class);
    private static final Duration DRAIN_WAIT = Duration.ofMillis(1);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final KeyPair clientKeys;
    private final Key serverKey;
    private final DatagramTransport transport;
    private final Clock clock;
    private final Duration responseTimeout;
    private final long rehandshakeAfterMillis;

    private final byte[] out = new byte[Wire.MAX_MESSAGE_LENGTH];
    private final byte[] in = new byte[2048];
    private final ByteBuffer inBuf = ByteBuffer.wrap(in);
    private final byte[] scratch = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];

    private ClientSession session;
    private long lastTimestamp;
    private boolean mayHaveStaleAnswers;
    private boolean closed;

    private static final class ClientSession {
        final int index;
        final CipherState sender;
        final CipherState receiver;
        final ReplayWindow replayWindow = new ReplayWindow();
        final long createdMillis;
        long nextCounter;

        ClientSession(int index, TransportKeys keys, long createdMillis) {
            this.index = index;
            this.sender = keys.sender();
            this.receiver = keys.receiver();
            this.createdMillis = createdMillis;
        }

        void destroy() {
            sender.destroy();
            receiver.destroy();
        }
    }

    /**
     * A client with the default clock, response timeout and re-handshake age.
     *
     * @param clientKeys the WireGuard interface's key pair: the server registers its public key
     * @param serverKey the server's public key
     * @param transport the datagram path to the server; closed by {@link #close()}
     */
    public RendezvousClient(KeyPair clientKeys, Key serverKey, DatagramTransport transport) {
        this(builder(clientKeys, serverKey, transport));
    }

    private RendezvousClient(Builder b) {
        this.clientKeys = b.clientKeys;
        this.serverKey = b.serverKey;
        this.transport = b.transport;
        this.clock = b.clock;
        this.responseTimeout = b.responseTimeout;
        this.rehandshakeAfterMillis = b.rehandshakeAfter.toMillis();
    }

    /** A builder for a client with non-default settings. */
    public static Builder builder(KeyPair clientKeys, Key serverKey, DatagramTransport transport) {
        return new Builder(clientKeys, serverKey, transport);
    }

    /** Settings of a {@link RendezvousClient}. Not thread-safe. */
    public static final class Builder {
        private final KeyPair clientKeys;
        private final Key serverKey;
        private final DatagramTransport transport;
        private Clock clock = Clock.systemUTC();
        private Duration responseTimeout = DEFAULT_RESPONSE_TIMEOUT;
        private Duration rehandshakeAfter = DEFAULT_REHANDSHAKE_AFTER;

        private Builder(KeyPair clientKeys, Key serverKey, DatagramTransport transport) {
            this.clientKeys = Objects.requireNonNull(clientKeys, "clientKeys");
            this.serverKey = Objects.requireNonNull(serverKey, "serverKey");
            this.transport = Objects.requireNonNull(transport, "transport");
        }

        /** Clock for handshake timestamps and session age. Default: the system UTC clock. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How long each request waits for the server's answer. Positive; default 10 s. */
        public Builder responseTimeout(Duration timeout) {
            this.responseTimeout = positive(timeout, "responseTimeout");
            return this;
        }

        /** Session age after which a lookup first re-handshakes. Positive; default 5 min. */
        public Builder rehandshakeAfter(Duration age) {
            this.rehandshakeAfter = positive(age, "rehandshakeAfter");
            return this;
        }

        public RendezvousClient build() {
            return new RendezvousClient(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, got " + d);
            }
            return d;
        }
    }

    /**
     * Runs a handshake now, replacing any current session. This registers (or refreshes) the
     * client's address at the server.
     *
     * @throws SocketTimeoutException if the server did not answer in time (wrong address or port,
     *     wrong server key, or UDP filtered)
     * @throws IOException if the transport fails
     */
    public synchronized void handshake() throws IOException {
        ensureOpen();
        discardStaleAnswers();
        NoiseHandshake noise = NoiseHandshake.initiator(clientKeys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
        int proposal = RANDOM.nextInt();
        int n = HandshakeInitiation.encode(noise, proposal, nextTimestamp(), scratch, out, 0);
        send(n);
        long deadline = System.nanoTime() + responseTimeout.toNanos();
        while (true) {
            int len = receiveUntil(deadline);
            if (len < 0) {
                dropSession();
                mayHaveStaleAnswers = true;
                throw new SocketTimeoutException("no handshake response from the rendezvous server "
                        + Endpoints.format(transport.server()) + " within " + describe(responseTimeout)
                        + ": most likely the server key is wrong or the server is unreachable; check that its"
                        + " public key is right (a server cannot decrypt a handshake made for another key, so"
                        + " it stays silent), then its address and port, that it runs, and that UDP to it is"
                        + " not filtered");
            }
            if (Messages.checkToClient(in, 0, len) != null || in[0] != Wire.TYPE_HANDSHAKE_RESPONSE) {
                log.debug("ignoring a {}-byte datagram while waiting for the handshake response", len);
                continue;
            }
            try {
                HandshakeResponse.read(noise, in, 0, scratch);
            } catch (HandshakeException e) {
                log.debug("ignoring a handshake response that does not authenticate: {}", e.getMessage());
                continue;
            }
            dropSession();
            session = new ClientSession(HandshakeResponse.assignedIndex(in, 0), noise.split(), clock.millis());
            log.debug("handshake with {} done, session index {}", transport.server(),
                    Integer.toUnsignedString(session.index));
            return;
        }
    }

    /**
     * Asks the server where {@code peer} is registered, handshaking first when needed.
     *
     * @return the peer's public IPv4 address and port as the server saw them, or empty when the
     *     server does not know the peer (never registered, expired, or registered over IPv6)
     * @throws SocketTimeoutException if the server did not answer in time
     * @throws IOException if the transport fails
     */
    public synchronized Optional<InetSocketAddress> lookup(Key peer) throws IOException {
        Objects.requireNonNull(peer, "peer");
        ensureOpen();
        if (session == null || clock.millis() - session.createdMillis >= rehandshakeAfterMillis) {
            handshake();
        }
        discardStaleAnswers();
        ClientSession s = session;
        int n = LookupRequest.encode(s.sender, s.index, s.nextCounter++, clientKeys.publicKey(), peer, scratch, out, 0);
        send(n);
        long deadline = System.nanoTime() + responseTimeout.toNanos();
        while (true) {
            int len = receiveUntil(deadline);
            if (len < 0) {
                dropSession();
                mayHaveStaleAnswers = true;
                throw new SocketTimeoutException("no lookup response from the rendezvous server "
                        + transport.server() + " within " + describe(responseTimeout)
                        + "; the next request will start with a new handshake");
            }
            if (Messages.checkToClient(in, 0, len) != null || in[0] != Wire.TYPE_DATA) {
                log.debug("ignoring a {}-byte datagram while waiting for a lookup response", len);
                continue;
            }
            int plainLen = LookupResponse.open(s.receiver, in, 0, len, scratch);
            if (plainLen < 0) {
                log.debug("ignoring a lookup response that does not authenticate");
                continue;
            }
            if (!s.replayWindow.accept(LookupResponse.counter(in, 0))) {
                log.debug("ignoring a replayed lookup response");
                continue;
            }
            if (plainLen != Wire.ENDPOINT_PLAINTEXT_LENGTH) {
                return Optional.empty();
            }
            InetAddress ip = InetAddress.getByAddress(new byte[] {scratch[0], scratch[1], scratch[2], scratch[3]});
            return Optional.of(new InetSocketAddress(ip, Wire.readUnsignedShort(scratch, 4)));
        }
    }

    /** Forgets the session and closes the transport. Idempotent. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        dropSession();
        transport.close();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the client is closed");
        }
    }

    private void dropSession() {
        if (session != null) {
            session.destroy();
            session = null;
        }
    }

    /** Nanoseconds since the epoch, strictly greater than the last one even if the clock stalls or steps back. */
    private long nextTimestamp() {
        Instant now = clock.instant();
        long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        lastTimestamp = Math.max(nanos, lastTimestamp + 1);
        return lastTimestamp;
    }

    private void send(int length) throws IOException {
        try {
            transport.send(ByteBuffer.wrap(out, 0, length));
        } catch (PortUnreachableException e) {
            throw unreachable(e);
        }
    }

    private int receiveUntil(long deadlineNanos) throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            return -1;
        }
        inBuf.clear();
        try {
            return transport.receive(inBuf, Duration.ofNanos(left));
        } catch (PortUnreachableException e) {
            throw unreachable(e);
        }
    }

    private void discardStaleAnswers() throws IOException {
        if (!mayHaveStaleAnswers) {
            return;
        }
        mayHaveStaleAnswers = false;
        while (true) {
            inBuf.clear();
            try {
                if (transport.receive(inBuf, DRAIN_WAIT) < 0) {
                    return;
                }
            } catch (PortUnreachableException e) {
                return;
            }
        }
    }

    private IOException unreachable(PortUnreachableException e) {
        return new IOException("the rendezvous server's host " + transport.server()
                + " reports that nothing listens on that UDP port", e);
    }

    private static String describe(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
    }
}
