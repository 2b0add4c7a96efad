package dev.natpunch.client;

import dev.natpunch.net.Endpoints;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The order in which the resolver tries a peer's endpoints. */
final class EndpointChoice {
    private EndpointChoice() {
    }

    /**
     * Best first: when the peer's public address is ours (the same NAT, which may not hairpin), its
     * LAN candidates; then its public mappings in the families this machine reaches the servers
     * by, IPv4 first; then LAN candidates on one of our own links (a shared LAN behind different
     * public addresses); then mappings of other families. Relay ports are not candidates: using one
     * takes a bind token, which only the resolver's relay step asks for. Other LAN candidates are
     * left out: they are private addresses of another network, and trying them costs a
     * verification time each.
     *
     * @param ourPublic our public addresses as the servers see them
     * @param families the families this machine reached a server with; empty: unknown
     * @param onOurLinks whether a LAN address is on one of this machine's links
     */
    static List<InetSocketAddress> order(List<PeerEndpoint> endpoints, Set<InetAddress> ourPublic,
                                         Set<StandardProtocolFamily> families,
                                         java.util.function.Predicate<InetAddress> onOurLinks) {
        List<PeerEndpoint> reflexive = new ArrayList<>();
        List<PeerEndpoint> local = new ArrayList<>();
        boolean sameNat = false;
        for (PeerEndpoint e : endpoints) {
            switch (e.kind()) {
                case SERVER_REFLEXIVE -> {
                    reflexive.add(e);
                    sameNat |= ourPublic.contains(e.address().getAddress());
                }
                case LOCAL -> local.add(e);
                case RELAY -> { }
            }
        }
        Set<InetSocketAddress> out = new LinkedHashSet<>();
        if (sameNat) {
            addIpv4First(out, local);
        }
        List<PeerEndpoint> reachable = new ArrayList<>();
        List<PeerEndpoint> other = new ArrayList<>();
        for (PeerEndpoint e : reflexive) {
            boolean ok = families.isEmpty() || families.contains(Endpoints.family(e.address().getAddress()));
            (ok ? reachable : other).add(e);
        }
        addIpv4First(out, reachable);
        addIpv4First(out, local.stream().filter(e -> onOurLinks.test(e.address().getAddress())).toList());
        addIpv4First(out, other);
        return List.copyOf(out);
    }

    /**
     * Whether the peer is behind our NAT (one of its mappings has our public address) and shows
     * no LAN candidate.
     */
    static boolean sameNatWithoutLan(List<PeerEndpoint> endpoints, Set<InetAddress> ourPublic) {
        boolean sameNat = false;
        for (PeerEndpoint e : endpoints) {
            if (e.kind() == PeerEndpoint.Kind.LOCAL) {
                return false;
            }
            sameNat |= e.kind() == PeerEndpoint.Kind.SERVER_REFLEXIVE && ourPublic.contains(e.address().getAddress());
        }
        return sameNat;
    }

    private static void addIpv4First(Set<InetSocketAddress> out, List<PeerEndpoint> endpoints) {
        for (PeerEndpoint e : endpoints) {
            if (e.isIpv4()) {
                out.add(e.address());
            }
        }
        for (PeerEndpoint e : endpoints) {
            if (!e.isIpv4()) {
                out.add(e.address());
            }
        }
    }
}
