package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.ReplayWindow;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Wire;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One side of a control channel session after its Noise handshake: the relay-assigned index, the
 * transport keys, this side's send counter and the replay window of what it receives. Sealing is
 * thread-safe (the counter is atomic, the keys hold no state); opening is too.
 */
final class ControlSession {
    final int index;
    /** The other side's static key: the server's on the relay, the relay's on a server. */
    final Key remoteKey;
    final long createdAtMillis;
    private final TransportKeys keys;
    private final byte sendType;
    private final AtomicLong sendCounter = new AtomicLong();
    private final ReplayWindow window = new ReplayWindow();

    /**
     * @param onRelay whether this is the relay's side, which sends type 5 and receives type 4
     */
    ControlSession(int index, Key remoteKey, TransportKeys keys, boolean onRelay, long nowMillis) {
        this.index = index;
        this.remoteKey = remoteKey;
        this.keys = keys;
        this.sendType = onRelay ? V2Wire.TYPE_SEALED_TO_CLIENT : V2Wire.TYPE_SEALED_TO_SERVER;
        this.createdAtMillis = nowMillis;
    }

    /**
     * Seals the plaintext {@code p[0..len)} into {@code out} (room for {@code len + 29} bytes).
     *
     * @return the datagram length
     */
    int seal(byte[] p, int len, byte[] out) {
        return Sealed.seal(keys.sender(), sendType, index, sendCounter.getAndIncrement(), p, 0, len, 0, out, 0);
    }

    /**
     * Opens a datagram of this session that passed {@link Sealed#check} into {@code plain}.
     *
     * @return the plaintext length, or -1 for a forgery or a replay
     */
    int open(byte[] d, int len, byte[] plain) {
        int n = Sealed.open(keys.receiver(), d, 0, len, plain, 0);
        return n >= 0 && window.accept(Sealed.counter(d, 0)) ? n : -1;
    }

    void destroy() {
        keys.destroy();
    }
}
