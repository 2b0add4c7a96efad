package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.Key;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The batch lookup path (client request, server check, decrypt, read keys, write and seal the
 * result, client check and read) allocates nothing, as the package promises. Counts bytes, not time.
 */
@Tag("allocation") // a JVM of its own, see natpunch-core/pom.xml
class V2AllocationTest {
    private static final int ROUNDS = 20_000;

    private final CipherState cs = CipherState.fromKey(V2Examples.KEY_CS);
    private final CipherState sc = CipherState.fromKey(V2Examples.KEY_SC);
    private final Key[] keys = new Key[37];
    private final byte[] clientPlain = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] serverPlain = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] request = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] answer = new byte[V2Wire.MAX_DATAGRAM];
    private final byte[] v6 = new byte[16];
    private long counter;

    @Test
    void lookupRoundTripAllocatesNothing() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(mx instanceof com.sun.management.ThreadMXBean,
                "this JVM cannot count a thread's allocated bytes");
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) mx;
        Assumptions.assumeTrue(bean.isThreadAllocatedMemorySupported() && bean.isThreadAllocatedMemoryEnabled(),
                "this JVM cannot count a thread's allocated bytes");
        for (int i = 0; i < keys.length; i++) {
            byte[] k = new byte[32];
            k[0] = (byte) i;
            keys[i] = Key.fromBytes(k);
        }
        v6[0] = 0x20;
        v6[15] = 7;
        long sum = 0;
        for (int i = 0; i < ROUNDS; i++) {
            sum += round();
        }
        long tid = Thread.currentThread().getId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < ROUNDS; i++) {
            sum += round();
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        // 27 entries of two endpoints (44 bytes each) fit a 1232-byte answer; the other 10 of the
        // 37 keys are left unanswered, as the truncation rule says.
        assertEquals(2L * ROUNDS * 27 * 2 * 51820, sum, "every round answered 27 keys with two endpoints");
        // A few hundred bytes of slack for the measurement itself; one allocation per round would be 20000+.
        assertTrue(allocated < 1024, allocated + " bytes allocated in " + ROUNDS + " lookups");
    }

    /** One lookup of 37 keys, answered with an IPv4 and an IPv6 endpoint each while they fit; returns the sum of the ports read. */
    private long round() {
        int n = BatchLookup.writeRequest(clientPlain, 0, (int) counter, V2Wire.WANT_ALL, keys, 0, keys.length);
        int len = Sealed.seal(cs, V2Wire.TYPE_SEALED_TO_SERVER, 5, counter, clientPlain, 0, n, V2Wire.MAX_DATAGRAM,
                request, 0);

        assertNull(Sealed.check(request, 0, len, true));
        int pl = Sealed.open(cs, request, 0, len, serverPlain, 0);
        assertNull(V2Messages.checkToServer(serverPlain, 0, pl));
        int k = BatchLookup.keyCount(serverPlain, 0);
        int id = Sealed.id(serverPlain, 0);
        int limit = Sealed.plaintextLimit(len);
        // The answer is written over the request's plaintext, as a server with one buffer would.
        int pos = BatchLookup.beginResult(serverPlain, 0, id);
        int answered = 0;
        for (int i = 0; i < k && pos + BatchLookup.entryLength(2) <= limit; i++, answered++) {
            pos = BatchLookup.writeEntryHeader(serverPlain, pos, i, i, 2);
            pos = WireEndpoint.writeIpv4(serverPlain, pos, 1, 0xc6120000 | i, 51820);
            pos = WireEndpoint.writeIpv6(serverPlain, pos, 1, v6, 0, 51820);
        }
        int an = BatchLookup.finishResult(serverPlain, 0, pos, answered);
        int alen = Sealed.seal(sc, V2Wire.TYPE_SEALED_TO_CLIENT, 5, counter, serverPlain, 0, an, 0, answer, 0);

        assertNull(Sealed.check(answer, 0, alen, false));
        int cl = Sealed.open(sc, answer, 0, alen, clientPlain, 0);
        assertNull(V2Messages.checkToClient(clientPlain, 0, cl));
        long ports = 0;
        int end = BatchLookup.entriesEnd(clientPlain, 0);
        for (int e = BatchLookup.firstEntry(0); e < end; e = BatchLookup.nextEntry(clientPlain, e)) {
            for (int i = 0; i < BatchLookup.entryEndpointCount(clientPlain, e); i++) {
                ports += WireEndpoint.port(clientPlain, BatchLookup.entryEndpoint(e, i));
            }
        }
        counter++;
        return ports;
    }
}
