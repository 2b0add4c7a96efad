package dev.natpunch.client;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.ReplayWindow;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.net.Endpoints;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Probe;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.ServerInfo;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Measures the behaviour of the NAT in front of this machine with a version 2 rendezvous server
 * that offers NAT probing (protocol-v2.md 6.6): whether its mapping depends on the destination
 * (symmetric) or not (punchable), how it filters, and whether it keeps the local port.
 *
 * <p>Runs from an ordinary UDP socket (no privileges), with a throw-away key unless one is given.
 * Filtering is measured first, before anything is sent to the server's other sockets, since
 * that traffic would itself open the NAT toward them.
 */
public final class NetCheck {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int PROBE_PADDING = 74;
    private static final int INFO_PADDING = 188;

    private final InetSocketAddress server;
    private final Key serverKey;
    private final KeyPair keys;
    private final int localPort;
    private final Duration wait;
    private final int tries;

    private NetCheck(Builder b) {
        this.server = b.server;
        this.serverKey = b.serverKey;
        this.keys = b.keys != null ? b.keys : KeyPair.generate();
        this.localPort = b.localPort;
        this.wait = b.wait;
        this.tries = b.tries;
    }

    /** A check against {@code server}, whose public key is {@code serverKey}. */
    public static Builder builder(InetSocketAddress server, Key serverKey) {
        return new Builder(server, serverKey);
    }

    /** Settings of a {@link NetCheck}. */
    public static final class Builder {
        private final InetSocketAddress server;
        private final Key serverKey;
        private KeyPair keys;
        private int localPort;
        private Duration wait = Duration.ofSeconds(1);
        private int tries = 3;

        private Builder(InetSocketAddress server, Key serverKey) {
            this.server = Objects.requireNonNull(server, "server");
            this.serverKey = Objects.requireNonNull(serverKey, "serverKey");
            if (server.isUnresolved()) {
                throw new IllegalArgumentException("resolve the server's name first: " + server);
            }
        }

        /** The key to authenticate with; default a fresh one (the server registers it briefly). */
        public Builder keyPair(KeyPair keys) {
            this.keys = Objects.requireNonNull(keys, "keys");
            return this;
        }

        /** The local UDP port to probe from; 0 (the default) is any free port. */
        public Builder localPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0 to 65535, not " + port);
            }
            this.localPort = port;
            return this;
        }

        /** How long one probe waits for its answer (default 1 s), and how often it is sent (default 3). */
        public Builder perProbe(Duration wait, int tries) {
            if (wait.isNegative() || wait.isZero() || tries < 1) {
                throw new IllegalArgumentException("the wait must be positive and tries at least 1");
            }
            this.wait = wait;
            this.tries = tries;
            return this;
        }

        public NetCheck build() {
            return new NetCheck(this);
        }
    }

    /**
     * Runs the probes.
     *
     * @throws SocketTimeoutException if the server does not answer the handshake
     * @throws IOException if the server does not offer NAT probing (the message says so), or the
     *     socket fails
     */
    public NatReport run() throws IOException {
        StandardProtocolFamily family = Endpoints.family(server.getAddress());
        try (DatagramChannel ch = DatagramChannel.open(family); Selector selector = Selector.open()) {
            ch.bind(new InetSocketAddress(localPort));
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            Session s = new Session(ch, selector);
            s.handshake();
            Map<WireEndpoint.Kind, InetSocketAddress> sockets = s.info(family);
            int port = ((InetSocketAddress) ch.getLocalAddress()).getPort();
            List<String> notes = new ArrayList<>();
            boolean altPort = sockets.containsKey(WireEndpoint.Kind.SERVER_ALT_PORT);
            boolean altAddress = sockets.containsKey(WireEndpoint.Kind.SERVER_ALT_ADDRESS)
                    && sockets.containsKey(WireEndpoint.Kind.SERVER_ALT_BOTH);

            NatReport.Filtering filtering = NatReport.Filtering.UNKNOWN;
            if (altPort) {
                boolean fromAnywhere = altAddress
                        && s.probe(server, Probe.FLAG_CHANGE_ADDRESS | Probe.FLAG_CHANGE_PORT).isPresent();
                if (fromAnywhere) {
                    filtering = NatReport.Filtering.ENDPOINT_INDEPENDENT;
                } else if (s.probe(server, Probe.FLAG_CHANGE_PORT).isPresent()) {
                    filtering = NatReport.Filtering.ADDRESS_DEPENDENT;
                    if (!altAddress) {
                        notes.add("the server has no second address: its other port got through, so filtering is"
                                + " address-dependent or endpoint-independent, which only a second address tells apart");
                    }
                } else {
                    filtering = NatReport.Filtering.ADDRESS_AND_PORT_DEPENDENT;
                }
            } else {
                notes.add("the server has no probe port: only the public endpoint was measured");
            }

            InetSocketAddress m1 = s.probe(server, 0).orElseThrow(() -> new SocketTimeoutException(
                    "the rendezvous server " + Endpoints.format(server) + " stopped answering probes"));
            NatReport.Mapping mapping = NatReport.Mapping.PORT_INDEPENDENT;
            if (altAddress) {
                Optional<InetSocketAddress> m2 = s.probe(sockets.get(WireEndpoint.Kind.SERVER_ALT_ADDRESS), 0);
                if (m2.isPresent() && m2.get().equals(m1)) {
                    mapping = NatReport.Mapping.ENDPOINT_INDEPENDENT;
                } else if (m2.isPresent()) {
                    Optional<InetSocketAddress> m3 = s.probe(sockets.get(WireEndpoint.Kind.SERVER_ALT_BOTH), 0);
                    mapping = m3.isPresent() && m3.get().equals(m2.get())
                            ? NatReport.Mapping.ADDRESS_DEPENDENT : NatReport.Mapping.ADDRESS_AND_PORT_DEPENDENT;
                } else {
                    notes.add("no answer from the server's second address; its mapping was not compared");
                }
            } else if (altPort) {
                Optional<InetSocketAddress> m2 = s.probe(sockets.get(WireEndpoint.Kind.SERVER_ALT_PORT), 0);
                if (m2.isPresent() && !m2.get().equals(m1)) {
                    mapping = NatReport.Mapping.ADDRESS_AND_PORT_DEPENDENT;
                } else if (m2.isEmpty()) {
                    notes.add("no answer from the server's probe port; its mapping was not compared");
                }
            }
            return new NatReport(port, m1, mapping, filtering, m1.getPort() == port, notes);
        }
    }

    /** A version 2 session over one unconnected socket: requests may go to any server socket. */
    private final class Session {
        private final DatagramChannel ch;
        private final Selector selector;
        private final ByteBuffer in = ByteBuffer.allocate(2048);
        private final byte[] plain = new byte[2048];
        private final ReplayWindow replay = new ReplayWindow();
        private CipherState sender;
        private CipherState receiver;
        private int index;
        private long counter;
        private int nextId = RANDOM.nextInt();

        Session(DatagramChannel ch, Selector selector) {
            this.ch = ch;
            this.selector = selector;
        }

        void handshake() throws IOException {
            Capabilities offer = Capabilities.offer(V2Wire.VERSION, V2Wire.FEATURE_NAT_PROBE | V2Wire.FEATURE_DUAL_STACK);
            byte[] scratch = new byte[8 + V2Wire.MAX_CAPABILITY_BLOCK];
            byte[] out = new byte[V2Wire.MAX_INITIATION_LENGTH];
            for (int attempt = 0; attempt < tries; attempt++) {
                NoiseHandshake noise = NoiseHandshake.initiator(keys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
                long now = System.currentTimeMillis() * 1_000_000L + attempt;
                int n = V2Handshake.encodeInitiation(noise, RANDOM.nextInt(), now, offer, scratch, out, 0);
                ch.send(ByteBuffer.wrap(out, 0, n), server);
                long end = System.nanoTime() + wait.toNanos();
                int len;
                while ((len = receive(end)) >= 0) {
                    byte[] d = in.array();
                    if (V2Handshake.checkResponse(d, 0, len) != null) {
                        continue;
                    }
                    int block;
                    try {
                        block = V2Handshake.readResponse(noise, d, 0, len, scratch);
                    } catch (HandshakeException e) {
                        continue;
                    }
                    Capabilities answer = block > 0 && Capabilities.check(scratch, 0, block, true) == null
                            ? Capabilities.read(scratch, 0, block, true) : null;
                    if (answer == null || !answer.isValidAnswerTo(offer) || !answer.has(V2Wire.FEATURE_NAT_PROBE)) {
                        throw new IOException("the rendezvous server " + Endpoints.format(server)
                                + " does not offer NAT probing: it needs natpunch-java's server with a probe port"
                                + " (natpunch server --probe-port PORT)");
                    }
                    index = Wire.readInt(d, Wire.INDEX_OFFSET);
                    TransportKeys k = noise.split();
                    sender = k.sender();
                    receiver = k.receiver();
                    return;
                }
            }
            throw new SocketTimeoutException("no handshake response from the rendezvous server " + Endpoints.format(server)
                    + ": check its address, port and public key");
        }

        Map<WireEndpoint.Kind, InetSocketAddress> info(StandardProtocolFamily family) throws IOException {
            byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
            int id = nextId++;
            int n = ServerInfo.writeRequest(p, 0, id);
            int len = request(server, p, n, INFO_PADDING, id, V2Wire.KIND_INFO_RESULT)
                    .orElseThrow(() -> new SocketTimeoutException("the rendezvous server did not answer INFO"));
            Map<WireEndpoint.Kind, InetSocketAddress> sockets = new EnumMap<>(WireEndpoint.Kind.class);
            for (int i = 0; i < ServerInfo.endpointCount(plain, 0); i++) {
                WireEndpoint e = WireEndpoint.read(plain, ServerInfo.endpointOffset(0, i));
                InetSocketAddress a = new InetSocketAddress(e.address(), e.port());
                if (Endpoints.family(e.address()) == family) {
                    sockets.putIfAbsent(e.kind(), a);
                }
            }
            return sockets;
        }

        /** The mapped endpoint a PROBE to {@code to} gets back, or empty when no answer arrives. */
        Optional<InetSocketAddress> probe(InetSocketAddress to, int flags) throws IOException {
            byte[] p = new byte[V2Wire.MAX_PLAINTEXT];
            int id = nextId++;
            int n = Probe.writeRequest(p, 0, id, flags);
            Optional<Integer> len = request(to, p, n, PROBE_PADDING, id, V2Wire.KIND_PROBE_RESULT);
            if (len.isEmpty()) {
                return Optional.empty();
            }
            WireEndpoint mapped = WireEndpoint.read(plain, Probe.mappedOffset(0));
            return Optional.of(new InetSocketAddress(mapped.address(), mapped.port()));
        }

        /** Sends a sealed request up to {@code tries} times; the answer's plaintext lands in {@code plain}. */
        private Optional<Integer> request(InetSocketAddress to, byte[] p, int n, int padTo, int id, byte kind)
                throws IOException {
            byte[] out = new byte[V2Wire.MAX_DATAGRAM];
            for (int attempt = 0; attempt < tries; attempt++) {
                int d = Sealed.seal(sender, V2Wire.TYPE_SEALED_TO_SERVER, index, counter++, p, 0, n, padTo, out, 0);
                ch.send(ByteBuffer.wrap(out, 0, d), to);
                long end = System.nanoTime() + wait.toNanos();
                int len;
                while ((len = receive(end)) >= 0) {
                    byte[] dg = in.array();
                    if (Sealed.check(dg, 0, len, false) != null || Sealed.sessionIndex(dg, 0) != index) {
                        continue;
                    }
                    int pl = Sealed.open(receiver, dg, 0, len, plain, 0);
                    if (pl < 0 || !replay.accept(Sealed.counter(dg, 0)) || V2Messages.checkToClient(plain, 0, pl) != null) {
                        continue;
                    }
                    if (Sealed.id(plain, 0) != id) {
                        continue;
                    }
                    if (Sealed.kind(plain, 0) == kind) {
                        return Optional.of(pl);
                    }
                    if (Sealed.kind(plain, 0) == V2Wire.KIND_ERROR) {
                        return Optional.empty();
                    }
                }
            }
            return Optional.empty();
        }

        /** The next datagram's length (in {@link #in}), or -1 at the deadline. */
        private int receive(long deadlineNanos) throws IOException {
            while (true) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return -1;
                }
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
                in.clear();
                if (ch.receive(in) != null) {
                    return in.position();
                }
            }
        }
    }
}
