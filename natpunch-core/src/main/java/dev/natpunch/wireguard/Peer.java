package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A peer as a WireGuard device reports it. Immutable. The preshared key is deliberately not
 * exposed: nothing here needs it and it is a secret.
 */
public final class Peer {
    private final Key publicKey;
    private final InetSocketAddress endpoint;
    private final List<AllowedIp> allowedIps;
    private final int persistentKeepaliveSeconds;
    private final Instant latestHandshake;
    private final long rxBytes;
    private final long txBytes;

    Peer(Key publicKey, InetSocketAddress endpoint, List<AllowedIp> allowedIps, int persistentKeepaliveSeconds,
            Instant latestHandshake, long rxBytes, long txBytes) {
        this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
        this.endpoint = endpoint;
        this.allowedIps = List.copyOf(allowedIps);
        this.persistentKeepaliveSeconds = persistentKeepaliveSeconds;
        this.latestHandshake = latestHandshake;
        this.rxBytes = rxBytes;
        this.txBytes = txBytes;
    }

    public Key publicKey() {
        return publicKey;
    }

    /** Where packets for this peer go; empty until configured or learnt from an authenticated packet. */
    public Optional<InetSocketAddress> endpoint() {
        return Optional.ofNullable(endpoint);
    }

    /** The allowed IPs in the order the device reports them; unmodifiable. */
    public List<AllowedIp> allowedIps() {
        return allowedIps;
    }

    /** Persistent keepalive interval in seconds, 0 when off. */
    public int persistentKeepaliveSeconds() {
        return persistentKeepaliveSeconds;
    }

    /** When the last handshake completed; empty if there never was one. */
    public Optional<Instant> latestHandshake() {
        return Optional.ofNullable(latestHandshake);
    }

    public long rxBytes() {
        return rxBytes;
    }

    public long txBytes() {
        return txBytes;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Peer)) {
            return false;
        }
        Peer p = (Peer) o;
        return publicKey.equals(p.publicKey) && Objects.equals(endpoint, p.endpoint)
                && allowedIps.equals(p.allowedIps) && persistentKeepaliveSeconds == p.persistentKeepaliveSeconds
                && Objects.equals(latestHandshake, p.latestHandshake) && rxBytes == p.rxBytes && txBytes == p.txBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(publicKey, endpoint, allowedIps, persistentKeepaliveSeconds, latestHandshake, rxBytes, txBytes);
    }

    @Override
    public String toString() {
        return "Peer[" + publicKey.toBase64()
                + ", endpoint=" + (endpoint == null ? "(none)" : IpText.formatEndpoint(endpoint))
                + ", allowedIps=" + allowedIps
                + ", keepalive=" + persistentKeepaliveSeconds
                + ", latestHandshake=" + (latestHandshake == null ? "(never)" : latestHandshake)
                + ", rx=" + rxBytes + ", tx=" + txBytes + "]";
    }
}
