package dev.natpunch.server;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.ReplayWindow;
import java.util.concurrent.atomic.AtomicLong;

/** The transport state a handshake left behind, found by the index the server assigned. */
final class Session {
    final int index;
    final Registration owner;
    final CipherState receiver;
    final CipherState sender;
    final ReplayWindow replayWindow = new ReplayWindow();
    final AtomicLong sendCounter = new AtomicLong();
    final long createdMillis;
    /** The protocol version negotiated in the handshake: 1, or 2 when the client offered it. */
    final int version;
    /** The version 2 features negotiated ({@code V2Wire.FEATURE_*}); 0 for version 1. */
    final long features;
    /** Subscriptions and pushes; null unless the session negotiated PUSH. */
    final PushState push;

    /** Next session in the same bucket; written under the bucket's stripe lock. */
    volatile Session next;
    /** Set before the cipher states are destroyed, so that a racing lookup discards its answer. */
    volatile boolean removed;

    Session(int index, Registration owner, CipherState receiver, CipherState sender, long createdMillis,
            int version, long features, Pushes pushes) {
        this.index = index;
        this.owner = owner;
        this.receiver = receiver;
        this.sender = sender;
        this.createdMillis = createdMillis;
        this.version = version;
        this.features = features;
        this.push = (features & dev.natpunch.protocol.v2.V2Wire.FEATURE_PUSH) != 0 && pushes != null
                ? new PushState(this, pushes) : null;
    }

    boolean has(long feature) {
        return (features & feature) == feature;
    }

    boolean isExpired(long nowMillis, long ttlMillis) {
        return nowMillis - createdMillis > ttlMillis;
    }

    void destroy() {
        removed = true;
        if (push != null) {
            push.end();
        }
        receiver.destroy();
        sender.destroy();
    }
}
