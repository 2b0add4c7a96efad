package dev.natpunch.server;

import dev.natpunch.protocol.v2.Registration;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.util.Arrays;

/**
 * The server's policy for local candidates (protocol-v2.md 6.4): it keeps the ones a peer could
 * use and refuses loopback, multicast, link-local and broadcast addresses (meaningless or
 * harmful away from the client's host or link) and repeats. The codec has already refused the
 * unspecified addresses, port 0 and kinds other than local.
 */
final class Candidates {
    private Candidates() {
    }

    /**
     * The acceptable candidates of a REGISTER plaintext that passed the codec's checks, in their
     * order, as one array of 19-byte wire endpoints.
     */
    static byte[] accept(byte[] p, int off) {
        int n = Registration.candidateCount(p, off);
        if (n == 0) {
            return dev.natpunch.server.Registration.NO_CANDIDATES;
        }
        byte[] kept = new byte[n * WireEndpoint.LENGTH];
        int count = 0;
        for (int i = 0; i < n; i++) {
            int e = Registration.candidateOffset(off, i);
            if (!usable(p, e) || contains(kept, count, p, e)) {
                continue;
            }
            System.arraycopy(p, e, kept, count * WireEndpoint.LENGTH, WireEndpoint.LENGTH);
            count++;
        }
        return count == n ? kept : Arrays.copyOf(kept, count * WireEndpoint.LENGTH);
    }

    private static boolean contains(byte[] kept, int count, byte[] p, int e) {
        for (int i = 0; i < count; i++) {
            if (WireEndpoint.sameAddressAndPort(kept, i * WireEndpoint.LENGTH, p, e)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a well-formed endpoint's address is one another host could reach. */
    static boolean usable(byte[] p, int e) {
        int a = e + WireEndpoint.ADDRESS_OFFSET;
        if (WireEndpoint.family(p, e) == WireEndpoint.FAMILY_IPV4) {
            int b0 = p[a + 12] & 0xff;
            int b1 = p[a + 13] & 0xff;
            boolean loopback = b0 == 127;
            boolean linkLocal = b0 == 169 && b1 == 254;
            boolean multicastOrReserved = b0 >= 224;
            boolean thisNetwork = b0 == 0;
            return !(loopback || linkLocal || multicastOrReserved || thisNetwork);
        }
        int b0 = p[a] & 0xff;
        int b1 = p[a + 1] & 0xff;
        boolean multicast = b0 == 0xff;
        boolean linkLocal = b0 == 0xfe && (b1 & 0xc0) == 0x80;
        boolean loopback = isIpv6Loopback(p, a);
        return !(multicast || linkLocal || loopback);
    }

    private static boolean isIpv6Loopback(byte[] p, int a) {
        int zero = 0;
        for (int i = 0; i < 15; i++) {
            zero |= p[a + i];
        }
        return zero == 0 && p[a + 15] == 1;
    }
}
