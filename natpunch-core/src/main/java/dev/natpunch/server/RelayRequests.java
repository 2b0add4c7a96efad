package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import dev.natpunch.relay.AllocationResult;
import dev.natpunch.relay.RelayAllocator;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * RELAY (kind 0x07, protocol-v2.md 6.7): the control half of relaying, answered from a
 * {@link RelayAllocator}, which does the forwarding. Only a server built with a relay offers the
 * RELAY feature, so only then does a session get here.
 */
final class RelayRequests {
    private final RelayAllocator relay;

    RelayRequests(RelayAllocator relay) {
        this.relay = relay;
    }

    /**
     * Writes the RELAY_RESULT for the checked request at {@code p[0..]} from {@code requester},
     * whose datagram came from {@code source}, into {@code a}.
     *
     * @return the plaintext length
     */
    int answer(Key requester, byte[] p, InetSocketAddress source, byte[] a) {
        int id = Sealed.id(p, 0);
        int keyOff = RelayControl.peerKeyOffset(0);
        Key peer = Key.fromBytes(Arrays.copyOfRange(p, keyOff, keyOff + Key.LENGTH));
        if (RelayControl.operation(p, 0) == RelayControl.OP_RELEASE) {
            relay.release(requester, peer);
            return RelayControl.writeResult(a, 0, id, RelayControl.STATUS_RELEASED, 0);
        }
        // The relay side faces the family this client reaches us with (IPv4-mapped sources arrive as IPv4).
        StandardProtocolFamily family = source.getAddress() instanceof Inet4Address
                ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
        AllocationResult r = relay.allocate(requester, peer, family);
        switch (r.status()) {
            case READY: {
                InetSocketAddress e = r.endpoint().orElseThrow();
                return RelayControl.writeReady(a, 0, id, seconds(r.lifetime()),
                        new WireEndpoint(WireEndpoint.Kind.RELAY, e.getAddress(), e.getPort()), r.token(), 0);
            }
            case PENDING:
                return RelayControl.writeResult(a, 0, id, RelayControl.STATUS_PENDING, seconds(r.lifetime()));
            default:
                return RelayControl.writeResult(a, 0, id, RelayControl.STATUS_UNAVAILABLE, 0);
        }
    }

    /**
     * Writes the kind-3 endpoint of the pair's relay port facing {@code requester} at {@code at}
     * if the pair's allocation is ready and {@code want} asks for its family.
     *
     * @return 1 if written, else 0
     */
    int writeEndpoint(byte[] a, int at, Key requester, Key peer, int want) {
        Optional<InetSocketAddress> e = relay.endpointFacing(requester, peer);
        if (e.isEmpty()) {
            return 0;
        }
        InetAddress address = e.get().getAddress();
        int family = address instanceof Inet4Address ? V2Wire.WANT_IPV4 : V2Wire.WANT_IPV6;
        if ((want & family) == 0) {
            return 0;
        }
        new WireEndpoint(WireEndpoint.Kind.RELAY, address, e.get().getPort()).write(a, at);
        return 1;
    }

    private static int seconds(Duration d) {
        return (int) Math.min(65_535, d.toSeconds());
    }
}
