package dev.natpunch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Allow-lists (API and file) and mutual mode: denied looks exactly like not found, in both versions. */
class AccessControlTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Capabilities OFFER = Capabilities.offer(2, V2Wire.FEATURES_V2);
    private static final int WANT = V2Wire.WANT_IPV4 | V2Wire.WANT_SERVER_REFLEXIVE;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private UdpRendezvousServer start(RendezvousServer.Builder b) throws IOException {
        UdpRendezvousServer server = (UdpRendezvousServer) b.bindAddress(LOOPBACK).workerThreads(2).build();
        toClose.add(server);
        server.start();
        return server;
    }

    private V2Peer peer(RendezvousServer server, KeyPair keys) throws IOException {
        V2Peer p = new V2Peer(keys, server.publicKey(), server.localAddress());
        toClose.add(p);
        return p;
    }

    /** A LOOKUP of one key padded to 200 bytes: the datagram, opened. */
    private static byte[] lookup(V2Peer p, Key k) throws IOException {
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = BatchLookup.writeRequest(plain, 0, 1, WANT, new Key[] {k}, 0, 1);
        p.send(p.seal(plain, n, 200));
        byte[] d = p.receive();
        assertNotNull(d);
        byte[] r = p.open(d);
        assertEquals(1, BatchLookup.answered(r, 0));
        return r;
    }

    private static boolean found(byte[] result) {
        return BatchLookup.entriesEnd(result, 0) > BatchLookup.firstEntry(0);
    }

    @Test
    void keysOffTheListAreNeverRegisteredAndLookLikeStrangers() throws Exception {
        KeyPair a = KeyPair.generate();
        KeyPair b = KeyPair.generate();
        AllowList allow = AllowList.of(List.of(a.publicKey(), b.publicKey()));
        UdpRendezvousServer server = start(RendezvousServer.builder().allowList(allow));
        V2Peer stranger = peer(server, KeyPair.generate());
        stranger.setReceiveTimeout(300);
        assertThrows(SocketTimeoutException.class, () -> stranger.handshake(1, 1, OFFER));
        assertEquals(1, server.metrics().drops(DropReason.NOT_ALLOWED));
        assertEquals(0, server.metrics().registrations(), "a stranger is never registered");

        V2Peer pa = peer(server, a);
        pa.handshake(1, 1, OFFER);
        V2Peer pb = peer(server, b);
        pb.handshake(1, 1, OFFER);
        assertTrue(found(lookup(pa, b.publicKey())));
        byte[] v1 = pa.lookupV1(b.publicKey());
        assertEquals(Wire.LOOKUP_RESPONSE_FOUND_LENGTH, v1.length);

        // b leaves the list while registered: to a it is now exactly an unknown key.
        allow.replace(Set.of(a.publicKey()));
        byte[] denied = lookup(pa, b.publicKey());
        byte[] unknown = lookup(pa, KeyPair.generate().publicKey());
        assertEquals(unknown.length, denied.length);
        assertEquals(BatchLookup.firstEntry(0), BatchLookup.entriesEnd(denied, 0));
        assertEquals(Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH, pa.lookupV1(b.publicKey()).length);
        // And b, still holding a session, sees nobody, itself included... but a sees itself.
        assertTrue(!found(lookup(pb, a.publicKey())));
        assertTrue(found(lookup(pa, a.publicKey())));
    }

    @Test
    void theAllowFileIsReloadedWhenItChangesAndABadFileKeepsTheList(@TempDir Path dir) throws Exception {
        KeyPair a = KeyPair.generate();
        KeyPair c = KeyPair.generate();
        Path file = dir.resolve("allowed");
        Files.writeString(file, "# the mesh\n" + a.publicKey().toBase64() + "  # laptop\n\n");
        UdpRendezvousServer server = start(RendezvousServer.builder().allowFile(file));
        V2Peer pc = peer(server, c);
        pc.setReceiveTimeout(300);
        assertThrows(SocketTimeoutException.class, () -> pc.handshake(1, 1, OFFER));

        Files.writeString(file, a.publicKey().toBase64() + "\n" + c.publicKey().toBase64() + "\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Capabilities answer = null;
        for (long ts = 2; answer == null && System.nanoTime() < deadline; ts++) {
            try {
                answer = pc.handshake(1, ts, OFFER);
            } catch (SocketTimeoutException notYet) {
                // the next poll of the file has not happened yet
            }
        }
        assertNotNull(answer, "the reloaded list did not admit c");

        Files.writeString(file, "not a key\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 10_000));
        server.reloadAllowFile(file);
        assertEquals(2, server.handler().allowList.size(), "a bad file keeps the previous list");
        assertThrows(IOException.class, () -> RendezvousServer.builder().allowFile(file));
    }

    @Test
    void inMutualModeAPeerIsShownOnlyToThoseItAskedFor() throws Exception {
        UdpRendezvousServer server = start(RendezvousServer.builder().mutual(true));
        V2Peer a = peer(server, KeyPair.generate());
        a.handshake(1, 1, OFFER);
        V2Peer b = peer(server, KeyPair.generate());
        b.handshake(1, 1, OFFER);
        V2Peer c = peer(server, KeyPair.generate());
        c.handshake(1, 1, OFFER);
        byte[] plain = new byte[V2Wire.MAX_PLAINTEXT];
        int n = Subscription.writeRequest(plain, 0, 9, Subscription.OP_REPLACE, WANT, new Key[] {a.keys.publicKey()}, 0, 1);
        assertEquals(V2Wire.KIND_SUBSCRIBE_RESULT, Sealed.kind(c.request(plain, n, V2Wire.MAX_DATAGRAM), 0));

        assertTrue(!found(lookup(a, b.keys.publicKey())), "b has not asked for a");
        assertTrue(found(lookup(b, a.keys.publicKey())), "a asked for b");
        assertTrue(found(lookup(a, b.keys.publicKey())), "now each asked for the other");
        assertEquals(Wire.LOOKUP_RESPONSE_FOUND_LENGTH, a.lookupV1(b.keys.publicKey()).length);
        assertTrue(!found(lookup(c, a.keys.publicKey())), "a never asked for c");
        assertEquals(Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH, c.lookupV1(a.keys.publicKey()).length);

        // c subscribed to a, which c may not see: a's changes never reach c.
        a.handshake(9, 2, OFFER);
        V2Peer moved = peer(server, a.keys);
        moved.handshake(1, 3, OFFER);
        c.setReceiveTimeout(800);
        assertNull(c.receive(), "an invisible key was pushed");
    }
}
