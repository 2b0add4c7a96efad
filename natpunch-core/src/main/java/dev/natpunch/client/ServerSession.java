package dev.natpunch.client;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.ReplayWindow;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.V2Wire;

/**
 * The transport state one handshake with a rendezvous server left behind. Guarded by the owning
 * {@link RendezvousClient}'s lock, except the cipher states, which are thread-safe.
 */
final class ServerSession {
    final int index;
    final CipherState sender;
    final CipherState receiver;
    final ReplayWindow replayWindow = new ReplayWindow();
    /** 1, or the negotiated version (2). */
    final int version;
    /** Negotiated features; 0 for version 1. A kind the server calls unsupported is removed. */
    long features;
    final long createdMillis;
    /** Seconds the server keeps the session, 0 when it did not say. */
    final int lifetimeSeconds;
    /** One send counter per direction, shared by every message type of the session. */
    long nextCounter;
    /** Request ids count up from a random start, so that a late answer of an old session never matches. */
    int nextId;

    ServerSession(int index, TransportKeys keys, Capabilities answer, long createdMillis, int firstId) {
        this.index = index;
        this.sender = keys.sender();
        this.receiver = keys.receiver();
        this.version = answer == null ? 1 : answer.version();
        this.features = answer == null ? 0 : answer.features();
        this.lifetimeSeconds = answer == null ? 0 : answer.sessionLifetimeSeconds();
        this.createdMillis = createdMillis;
        this.nextId = firstId;
    }

    boolean has(long feature) {
        return version >= V2Wire.VERSION && (features & feature) == feature;
    }

    void destroy() {
        sender.destroy();
        receiver.destroy();
    }
}
