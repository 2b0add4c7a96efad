package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A change to one existing peer: its endpoint, its persistent keepalive, or both. Everything the
 * update does not name stays as it is. Immutable; build with {@link #builder(Key)}.
 */
public final class PeerUpdate {
    /** The largest persistent keepalive WireGuard accepts, in seconds. */
    public static final int MAX_PERSISTENT_KEEPALIVE = 65535;

    private final Key publicKey;
    private final InetSocketAddress endpoint;
    private final int keepalive; // -1 = leave unchanged

    private PeerUpdate(Builder b) {
        this.publicKey = b.publicKey;
        this.endpoint = b.endpoint;
        this.keepalive = b.keepalive;
    }

    /** Starts an update of the peer with this public key. */
    public static Builder builder(Key publicKey) {
        return new Builder(publicKey);
    }

    public Key publicKey() {
        return publicKey;
    }

    /** The new endpoint, or empty to leave the endpoint alone. */
    public Optional<InetSocketAddress> endpoint() {
        return Optional.ofNullable(endpoint);
    }

    /** The new persistent keepalive in seconds (0 = off), or empty to leave it alone. */
    public OptionalInt persistentKeepaliveSeconds() {
        return keepalive < 0 ? OptionalInt.empty() : OptionalInt.of(keepalive);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PeerUpdate && publicKey.equals(((PeerUpdate) o).publicKey)
                && Objects.equals(endpoint, ((PeerUpdate) o).endpoint) && keepalive == ((PeerUpdate) o).keepalive;
    }

    @Override
    public int hashCode() {
        return Objects.hash(publicKey, endpoint, keepalive);
    }

    @Override
    public String toString() {
        return "PeerUpdate[" + publicKey.toBase64()
                + (endpoint == null ? "" : ", endpoint=" + IpText.formatEndpoint(endpoint))
                + (keepalive < 0 ? "" : ", keepalive=" + keepalive) + "]";
    }

    /** Builder for {@link PeerUpdate}; not thread-safe. */
    public static final class Builder {
        private final Key publicKey;
        private InetSocketAddress endpoint;
        private int keepalive = -1;

        private Builder(Key publicKey) {
            this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
        }

        /**
         * Sets the endpoint. It must be a resolved IP address and port: resolving host names is
         * the caller's decision, not a side effect of configuring a device.
         *
         * @throws IllegalArgumentException if the address is unresolved or the port is 0
         */
        public Builder endpoint(InetSocketAddress endpoint) {
            Objects.requireNonNull(endpoint, "endpoint");
            if (endpoint.isUnresolved()) {
                throw new IllegalArgumentException("endpoint " + endpoint + " is unresolved: resolve it to an IP first");
            }
            if (endpoint.getPort() == 0) {
                throw new IllegalArgumentException("endpoint port must be 1..65535, not 0");
            }
            if (endpoint.getAddress().getHostAddress().indexOf('%') >= 0) {
                throw new IllegalArgumentException("scoped IPv6 endpoints are not supported: " + endpoint);
            }
            this.endpoint = endpoint;
            return this;
        }

        /**
         * Sets the persistent keepalive interval; 0 turns it off. 25 s keeps most NAT mappings open.
         *
         * @throws IllegalArgumentException outside 0..65535
         */
        public Builder persistentKeepaliveSeconds(int seconds) {
            if (seconds < 0 || seconds > MAX_PERSISTENT_KEEPALIVE) {
                throw new IllegalArgumentException(
                        "persistent keepalive must be 0 (off) .. " + MAX_PERSISTENT_KEEPALIVE + " seconds, not " + seconds);
            }
            this.keepalive = seconds;
            return this;
        }

        /** @throws IllegalStateException if neither endpoint nor keepalive was set (an update that changes nothing) */
        public PeerUpdate build() {
            if (endpoint == null && keepalive < 0) {
                throw new IllegalStateException("the update names neither an endpoint nor a persistent keepalive");
            }
            return new PeerUpdate(this);
        }
    }
}
