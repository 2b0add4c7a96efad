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
    private final PacketHandler server;
    private final RelayAllocator relay;

    RelayRequests(PacketHandler server, RelayAllocator relay) {
        this.server = server;
        this.relay = relay;
    }

    /**
     * Writes the RELAY_RESULT for the checked request at {@code p[0..]} from {@code owner}'s
     * client, whose datagram came from {@code source}, into {@code a}. When the request completes
     * a pair, the requester's endpoint set changes for the peer (it now has a relay port facing
     * the peer), so its subscribers get a push: the peer, waiting in PENDING, learns at once.
     *
     * @return the plaintext length
     */
    int answer(Registration owner, byte[] p, InetSocketAddress source, long now, byte[] a) {
        Key requester = owner.key();
        int id = Sealed.id(p, 0);
        int keyOff = RelayControl.peerKeyOffset(0);
        Key peer = Key.fromBytes(Arrays.copyOfRange(p, keyOff, keyOff + Key.LENGTH));
        if (RelayControl.operation(p, 0) == RelayControl.OP_RELEASE) {
            relay.release(requester, peer);
            return RelayControl.writeResult(a, 0, id, RelayControl.STATUS_RELEASED, 0);
        }
        // Asking to be relayed to a key is asking for it (mutual mode). Looked up first, then the
        // rule applied: a peer that either side may not see gets the answer of a peer that has
        // not asked yet (section 7) without reaching the relay, and a pair that was allowed once
        // is ended. A peer not registered yet is recorded like any other: when it registers and
        // asks, it is checked then.
        Registration target = server.registry.find(p, keyOff);
        server.recordAsked(owner, p, keyOff);
        boolean known = target != null && !target.removed;
        if (known && (!server.visible(owner, target) || !server.visible(target, owner))) {
            if (relay.endpointFacing(requester, peer).isPresent()) {
                relay.release(requester, peer);
            }
            return RelayControl.writeResult(a, 0, id, RelayControl.STATUS_PENDING, seconds(relay.pendingLifetime()));
        }
        // The relay side faces the family this client reaches us with (IPv4-mapped sources arrive as IPv4).
        StandardProtocolFamily family = source.getAddress() instanceof Inet4Address
                ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
        boolean wasReady = relay.endpointFacing(requester, peer).isPresent();
        AllocationResult r = relay.allocate(requester, peer, family);
        if (r.status() == AllocationResult.Status.READY && !wasReady) {
            synchronized (owner) {
                if (!owner.removed) {
                    server.endpointsChanged(owner, now);
                }
            }
        }
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
