package dev.natpunch.server;

import dev.natpunch.crypto.StaticDhCache;
import java.net.InetSocketAddress;
import java.util.Arrays;

/**
 * One handshake thread's view of the static-static Diffie-Hellman values the registrations
 * remember (see {@link StaticDhCache}): a registered client's re-handshake costs the server four
 * scalar multiplications instead of five.
 *
 * <p>A value is found only for a handshake from the address where the key's registration was
 * last seen, the common case of a client's periodic re-handshake. A hit is faster than a miss,
 * and a forged message 1 can name any key; answering only for the registered address means the
 * difference tells nobody whether a key is registered unless they already know where it is
 * (which mutual mode and the allow-list hide). A value computed during a handshake is held here
 * until that handshake has registered the key, then moved into the registration, and zeroed here
 * either way.
 */
final class HandshakeSecrets implements StaticDhCache {
    private final Registry registry;
    private final byte[] computed = new byte[32];
    private boolean hasComputed;
    private InetSocketAddress source;

    HandshakeSecrets(Registry registry) {
        this.registry = registry;
    }

    /** Starts a handshake from {@code source}. */
    void begin(InetSocketAddress from) {
        forget();
        source = from;
    }

    @Override
    public boolean find(byte[] remoteStatic, int offset, byte[] out) {
        Registration reg = registry.find(remoteStatic, offset);
        if (reg == null) {
            return false;
        }
        synchronized (reg) {
            return !reg.removed && reg.isAt(source) && reg.copySsLocked(out);
        }
    }

    @Override
    public void offer(byte[] remoteStatic, int offset, byte[] ss) {
        System.arraycopy(ss, 0, computed, 0, computed.length);
        hasComputed = true;
    }

    /** Moves a value this handshake computed into {@code reg}, the key's registration; its monitor is held. */
    void storeLocked(Registration reg) {
        if (hasComputed) {
            reg.rememberSsLocked(computed);
        }
        forget();
    }

    /** Zeroes what this handshake computed; called when it ends, whatever the outcome. */
    void forget() {
        if (hasComputed) {
            Arrays.fill(computed, (byte) 0);
            hasComputed = false;
        }
        source = null;
    }
}
