package dev.natpunch.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.KeyPair;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The UAPI backend against small fake daemons on Unix sockets in a temporary directory: the
 * failure modes a real wireguard-go does not produce on demand (stale socket, hang, endless reply).
 */
class UapiBackendTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        for (Thread t : threads) {
            t.interrupt();
            t.join(2000);
        }
    }

    /** Serves one connection: reads the request up to its blank line, then runs {@code reply}. */
    private ServerSocketChannel fakeDaemon(String name, AtomicReference<String> request, ReplyWriter reply)
            throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(dir.resolve(name + ".sock")));
        open.add(server);
        Thread t = new Thread(() -> {
            try (SocketChannel c = server.accept()) {
                StringBuilder sb = new StringBuilder();
                ByteBuffer buf = ByteBuffer.allocate(4096);
                while (!sb.toString().endsWith("\n\n") && c.read(buf) >= 0) {
                    buf.flip();
                    sb.append(StandardCharsets.UTF_8.decode(buf));
                    buf.clear();
                }
                request.set(sb.toString());
                reply.write(c);
            } catch (IOException e) {
                // The client gave up (timeout or bound tests): that is the point of those tests.
            }
        });
        t.setDaemon(true);
        t.start();
        threads.add(t);
        return server;
    }

    @FunctionalInterface
    private interface ReplyWriter {
        void write(SocketChannel c) throws IOException;
    }

    private static void send(SocketChannel c, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    @Test
    void readsThroughTheSocketAndSendsGet() throws Exception {
        AtomicReference<String> request = new AtomicReference<>();
        fakeDaemon("npwt0", request, c -> send(c, "listen_port=4242\nerrno=0\n\n"));
        Device d = WireguardControl.uapi(dir).device("npwt0");
        assertEquals(4242, d.listenPort());
        assertEquals("get=1\n\n", request.get());
    }

    @Test
    void noSocketDirectoryAtAllIsNoBackend() {
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.uapi(dir.resolve("absent")).device("npw0"));
        assertEquals(WireguardException.Kind.NO_BACKEND, e.kind());
        assertTrue(e.getMessage().contains("install wireguard-tools/wireguard-go"), e.getMessage());
    }

    @Test
    void otherInterfacesPresentIsNoSuchInterface() throws Exception {
        fakeDaemon("npwt1", new AtomicReference<>(), c -> send(c, "errno=0\n\n"));
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.uapi(dir).device("npwt9"));
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE, e.kind());
        assertTrue(e.getMessage().contains("npwt1"), e.getMessage());
    }

    @Test
    void staleSocketIsAClearError() throws Exception {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(dir.resolve("npwt2.sock")));
        server.close(); // the file stays, nobody listens: what a crashed wireguard-go leaves behind
        assertTrue(Files.exists(dir.resolve("npwt2.sock")));
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.uapi(dir).device("npwt2"));
        assertEquals(WireguardException.Kind.NO_SUCH_INTERFACE, e.kind());
        assertTrue(e.getMessage().contains("stale socket"), e.getMessage());
    }

    @Test
    void silentDaemonTimesOut() throws Exception {
        fakeDaemon("npwt3", new AtomicReference<>(), c -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        UapiBackend backend = new UapiBackend(List.of(dir), Duration.ofMillis(300), 1 << 20);
        WireguardException e = assertThrows(WireguardException.class, () -> backend.device("npwt3"));
        assertEquals(WireguardException.Kind.PROTOCOL, e.kind());
        assertTrue(e.getMessage().contains("did not answer"), e.getMessage());
    }

    @Test
    void endlessReplyIsCutOffAtTheBound() throws Exception {
        fakeDaemon("npwt4", new AtomicReference<>(), c -> {
            String line = "allowed_ip=10.0.0.0/8\n".repeat(1000);
            while (true) {
                send(c, line);
            }
        });
        UapiBackend backend = new UapiBackend(List.of(dir), Duration.ofSeconds(10), 64 * 1024);
        WireguardException e = assertThrows(WireguardException.class, () -> backend.device("npwt4"));
        assertEquals(WireguardException.Kind.PROTOCOL, e.kind());
        assertTrue(e.getMessage().contains("exceeds 65536 bytes"), e.getMessage());
    }

    @Test
    void daemonHangingUpMidReplyIsProtocolError() throws Exception {
        fakeDaemon("npwt5", new AtomicReference<>(), c -> send(c, "listen_port=1\n"));
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.uapi(dir).device("npwt5"));
        assertEquals(WireguardException.Kind.PROTOCOL, e.kind());
    }

    @Test
    void updateOfAbsentPeerSendsNoSet() throws Exception {
        AtomicReference<String> request = new AtomicReference<>();
        fakeDaemon("npwt6", request, c -> send(c, "listen_port=1\nerrno=0\n\n"));
        PeerUpdate update = PeerUpdate.builder(KeyPair.generate().publicKey()).persistentKeepaliveSeconds(5).build();
        WireguardException e = assertThrows(WireguardException.class,
                () -> WireguardControl.uapi(dir).updatePeer("npwt6", update));
        assertEquals(WireguardException.Kind.NO_SUCH_PEER, e.kind());
        assertEquals("get=1\n\n", request.get());
    }
}
