package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A snapshot of a WireGuard interface. Immutable. {@link #toString()} never shows the private key.
 */
public final class Device {
    private final String name;
    private final Key publicKey;
    private final Key privateKey;
    private final int listenPort;
    private final int fwmark;
    private final List<Peer> peers;

    Device(String name, Key publicKey, Key privateKey, int listenPort, int fwmark, List<Peer> peers) {
        this.name = Objects.requireNonNull(name, "name");
        this.publicKey = publicKey;
        this.privateKey = privateKey;
        this.listenPort = listenPort;
        this.fwmark = fwmark;
        this.peers = List.copyOf(peers);
    }

    /** The interface name, e.g. {@code wg0}. */
    public String name() {
        return name;
    }

    /**
     * The interface's public key; empty exactly when no private key is set (the public key is
     * derived from it).
     */
    public Optional<Key> publicKey() {
        return Optional.ofNullable(publicKey);
    }

    /** The private key; empty when none is set. */
    public Optional<Key> privateKey() {
        return Optional.ofNullable(privateKey);
    }

    /** The UDP port the interface listens on (0 if it is not up or not yet bound). */
    public int listenPort() {
        return listenPort;
    }

    /** The firewall mark on outgoing packets, 0 when off. Unsigned 32-bit value in an int. */
    public int fwmark() {
        return fwmark;
    }

    /** The peers in the order the device reports them; unmodifiable. */
    public List<Peer> peers() {
        return peers;
    }

    /** The peer with this public key, if it is configured on the interface. */
    public Optional<Peer> peer(Key publicKey) {
        Objects.requireNonNull(publicKey, "publicKey");
        for (Peer p : peers) {
            if (p.publicKey().equals(publicKey)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Device)) {
            return false;
        }
        Device d = (Device) o;
        return name.equals(d.name) && Objects.equals(publicKey, d.publicKey)
                && Objects.equals(privateKey, d.privateKey) && listenPort == d.listenPort && fwmark == d.fwmark
                && peers.equals(d.peers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, publicKey, listenPort, fwmark, peers);
    }

    @Override
    public String toString() {
        return "Device[" + name + ", publicKey=" + (publicKey == null ? "(none)" : publicKey.toBase64())
                + ", listenPort=" + listenPort + ", fwmark=" + Integer.toUnsignedString(fwmark)
                + ", peers=" + peers + "]";
    }
}
