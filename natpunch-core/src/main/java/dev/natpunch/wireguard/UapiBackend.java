package dev.natpunch.wireguard;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** The userspace API over {@code <dir>/<interface>.sock}, in pure Java (JDK 16+ AF_UNIX channels). */
final class UapiBackend implements WireguardControl {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** Enough for tens of thousands of peers; a broken or hostile daemon cannot make us buffer more. */
    static final int DEFAULT_MAX_REPLY_BYTES = 32 << 20;

    private final List<Path> socketDirectories;
    private final Duration timeout;
    private final int maxReplyBytes;

    UapiBackend(List<Path> socketDirectories) {
        this(socketDirectories, DEFAULT_TIMEOUT, DEFAULT_MAX_REPLY_BYTES);
    }

    UapiBackend(List<Path> socketDirectories, Duration timeout, int maxReplyBytes) {
        this.socketDirectories = List.copyOf(socketDirectories);
        this.timeout = timeout;
        this.maxReplyBytes = maxReplyBytes;
    }

    @Override
    public Device device(String interfaceName) throws WireguardException {
        Interfaces.checkName(interfaceName);
        return UapiProtocol.parseGet(interfaceName, exchange(interfaceName, UapiProtocol.GET_REQUEST));
    }

    @Override
    public void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException {
        updatePeers(interfaceName, List.of(update));
    }

    @Override
    public void updatePeers(String interfaceName, List<PeerUpdate> updates) throws WireguardException {
        if (updates.isEmpty()) {
            return;
        }
        Interfaces.requireConfigured(interfaceName, device(interfaceName), updates);
        UapiProtocol.checkSetReply(interfaceName, exchange(interfaceName, UapiProtocol.setRequest(updates)));
    }

    @Override
    public String backendName() {
        return "uapi";
    }

    private String exchange(String interfaceName, String request) throws WireguardException {
        Path socket = Interfaces.findSocket(socketDirectories, interfaceName);
        if (socket == null) {
            if (Interfaces.userspaceInterfaces(socketDirectories).isEmpty()) {
                throw new WireguardException(WireguardException.Kind.NO_BACKEND,
                        "no userspace WireGuard is running: no socket in " + socketDirectories
                                + "; start 'wireguard-go " + interfaceName + "' (" + Interfaces.INSTALL_HINT + ")");
            }
            throw new WireguardException(WireguardException.Kind.NO_SUCH_INTERFACE,
                    "no userspace WireGuard interface '" + interfaceName + "': no " + interfaceName + ".sock in "
                            + socketDirectories + " (present: " + Interfaces.userspaceInterfaces(socketDirectories)
                            + "); check the name or start 'wireguard-go " + interfaceName + "'");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                Selector selector = Selector.open()) {
            ch.configureBlocking(false);
            SelectionKey key = ch.register(selector, SelectionKey.OP_CONNECT);
            connect(ch, socket, interfaceName, selector, deadline);
            key.interestOps(SelectionKey.OP_WRITE);
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                await(selector, deadline, interfaceName, socket);
                ch.write(out);
            }
            key.interestOps(SelectionKey.OP_READ);
            return readReply(ch, selector, deadline, interfaceName, socket);
        } catch (WireguardException e) {
            throw e;
        } catch (IOException e) {
            throw mapIo(e, interfaceName, socket);
        }
    }

    private void connect(SocketChannel ch, Path socket, String interfaceName, Selector selector, long deadline)
            throws IOException {
        try {
            // Non-blocking even here: a daemon whose accept backlog is full must not hang us.
            if (!ch.connect(UnixDomainSocketAddress.of(socket))) {
                while (!ch.finishConnect()) {
                    await(selector, deadline, interfaceName, socket);
                }
            }
        } catch (ConnectException e) {
            throw new WireguardException(WireguardException.Kind.NO_SUCH_INTERFACE,
                    "stale socket " + socket + ": nothing listens on it (connection refused), so the wireguard-go"
                            + " process for '" + interfaceName + "' has exited; delete the socket and restart it",
                    e);
        }
    }

    private String readReply(SocketChannel ch, Selector selector, long deadline, String interfaceName, Path socket)
            throws IOException {
        ByteArrayOutputStream reply = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        int last = -1; // the byte before the current chunk, to find "\n\n" across chunk boundaries
        while (true) {
            await(selector, deadline, interfaceName, socket);
            buf.clear();
            int n = ch.read(buf);
            if (n < 0) {
                throw new WireguardException(WireguardException.Kind.PROTOCOL, "the WireGuard daemon of '"
                        + interfaceName + "' closed " + socket + " before finishing its reply");
            }
            for (int i = 0; i < n; i++) {
                byte b = buf.get(i);
                if (b == '\n' && last == '\n') {
                    reply.write(buf.array(), 0, i + 1);
                    return reply.toString(StandardCharsets.UTF_8);
                }
                last = b;
            }
            if (reply.size() + n > maxReplyBytes) {
                throw new WireguardException(WireguardException.Kind.PROTOCOL, "the reply from " + socket
                        + " exceeds " + maxReplyBytes + " bytes without ending; is it really a WireGuard daemon?");
            }
            reply.write(buf.array(), 0, n);
        }
    }

    private void await(Selector selector, long deadline, String interfaceName, Path socket) throws IOException {
        while (true) {
            long remainingMs = (deadline - System.nanoTime()) / 1_000_000;
            if (remainingMs <= 0) {
                throw new WireguardException(WireguardException.Kind.PROTOCOL, "the WireGuard daemon of '"
                        + interfaceName + "' did not answer on " + socket + " within " + timeout.toMillis()
                        + " ms; it may be hung");
            }
            if (selector.select(remainingMs) > 0) {
                selector.selectedKeys().clear();
                return;
            }
        }
    }

    private static WireguardException mapIo(IOException e, String interfaceName, Path socket) {
        String msg = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (msg.contains("permission denied") || msg.contains("operation not permitted")) {
            return new WireguardException(WireguardException.Kind.PERMISSION_DENIED,
                    "no permission to open " + socket + " for '" + interfaceName + "'; " + Interfaces.PRIVILEGE_HINT, e);
        }
        if (msg.contains("no such file")) {
            return new WireguardException(WireguardException.Kind.NO_SUCH_INTERFACE,
                    "the socket " + socket + " disappeared: '" + interfaceName + "' was just removed", e);
        }
        return new WireguardException(WireguardException.Kind.PROTOCOL,
                "talking to the WireGuard daemon of '" + interfaceName + "' on " + socket + " failed: " + e.getMessage(), e);
    }
}
