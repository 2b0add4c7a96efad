package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashSet;

/**
 * One client key in the registry, kept small because a server holds up to a million of them:
 * about 150 bytes (measured by {@code natpunch-bench}'s {@code RegistrationMemory}, see
 * docs/PERFORMANCE.md). The IPv4 server-reflexive endpoint, which every client has, is packed
 * into one long; what only some keys have (an IPv6 endpoint, local candidates, mutual mode's
 * record of whom the client asked for) lives in an {@link Extras} object made for those keys
 * only. The key is kept as its raw 32 bytes: a {@link Key} is made only where one is handed out.
 *
 * <p>A key has at most one server-reflexive endpoint per address family (the source of its
 * latest authenticated datagram of that family, version 1's rule applied per family) and at most
 * {@link dev.natpunch.protocol.v2.V2Wire#MAX_CANDIDATES} local candidates, so its size is bounded
 * whatever the client sends. Lookups read the endpoints and times lock-free; every change of the
 * endpoint set, the replay timestamp, the current session and the remembered static-static
 * Diffie-Hellman happen under this object's monitor, so that {@link #version} grows with each
 * change.
 */
final class Registration {
    static final byte[] NO_CANDIDATES = new byte[0];

    /** Keys one registration remembers having asked for (mutual mode); beyond that, the oldest go. */
    static final int MAX_ASKED = 1024;

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * What only some keys have; made and changed under the registration's monitor, except that
     * the IPv6 endpoint's time is refreshed without it, as the IPv4 one is.
     */
    static final class Extras {
        /** The IPv6 server-reflexive endpoint; null until the key is seen over IPv6. */
        volatile Endpoint endpoint6;
        volatile long seen6Millis;
        /** Local candidates in wire form, 19 bytes each (kind local); replaced, never written to. */
        volatile byte[] candidates = NO_CANDIDATES;
        /** Mutual mode: keys this client asked for during this registration. */
        LinkedHashSet<KeyRef> asked;
    }

    /** The key's 32 bytes, for allocation-free comparisons; never written to. */
    final byte[] keyBytes;
    final int hash;

    /** Next registration in the same bucket; written under the bucket's stripe lock. */
    volatile Registration next;
    /** The IPv4 server-reflexive endpoint as {@link Endpoint#pack4}s it; 0 until the key is seen over IPv4. */
    volatile long endpoint4;
    volatile long seen4Millis;
    volatile long lastSeenMillis;
    /** The version of the endpoint set (protocol-v2.md 6.1); written under the monitor. */
    volatile int version;
    /** Set, under the monitor, once the registry has unlinked this registration. */
    volatile boolean removed;
    /**
     * Set once an authenticated request (anything but a handshake) of this key arrived: a key
     * that never sent one may be dropped with its session when the session table is full.
     */
    volatile boolean used;
    /** Null until the key has something only some keys have; written under the monitor. */
    volatile Extras extras;

    /** Guarded by this. */
    boolean hasTimestamp;
    /** Guarded by this; compared unsigned. */
    long lastTimestamp;
    /**
     * Written under this. {@link PacketHandler#lookedUp} reads it without: a stale session is
     * harmless there (its fields are final, and an ended one ignores the call).
     */
    Session session;

    /** The remembered ss = DH(server static, this key), see {@link HandshakeSecrets}; guarded by this. */
    private long ss0;
    private long ss1;
    private long ss2;
    private long ss3;
    private boolean hasSs;

    Registration(byte[] keyBytes, int hash, long nowMillis) {
        this.keyBytes = keyBytes;
        this.hash = hash;
        this.lastSeenMillis = nowMillis;
    }

    /** The key as an object, made on each call: for listeners, logs and the relay, not for hot paths. */
    Key key() {
        return Key.fromBytes(keyBytes);
    }

    boolean keyEquals(byte[] b, int off) {
        return Arrays.equals(keyBytes, 0, Key.LENGTH, b, off, off + Key.LENGTH);
    }

    boolean isExpired(long nowMillis, long ttlMillis) {
        return nowMillis - lastSeenMillis > ttlMillis;
    }

    /** The packed IPv4 endpoint, or 0 when there is none or it was not refreshed within {@code ttlMillis}. */
    long liveEndpoint4(long nowMillis, long ttlMillis) {
        long e = endpoint4;
        return e != 0 && nowMillis - seen4Millis <= ttlMillis ? e : 0;
    }

    /** The IPv6 endpoint, or null when there is none or it was not refreshed within {@code ttlMillis}. */
    Endpoint liveEndpoint6(long nowMillis, long ttlMillis) {
        Extras x = extras;
        Endpoint e = x == null ? null : x.endpoint6;
        return e != null && nowMillis - x.seen6Millis <= ttlMillis ? e : null;
    }

    long seen6Millis() {
        Extras x = extras;
        return x == null ? 0 : x.seen6Millis;
    }

    byte[] candidates() {
        Extras x = extras;
        return x == null ? NO_CANDIDATES : x.candidates;
    }

    int candidateCount() {
        return candidates().length / dev.natpunch.protocol.v2.WireEndpoint.LENGTH;
    }

    /** The side object, made if absent; the monitor is held. */
    Extras extrasLocked() {
        Extras x = extras;
        if (x == null) {
            x = new Extras();
            extras = x;
        }
        return x;
    }

    /** Whether {@code source} is this key's current server-reflexive endpoint of its family; allocation-free. */
    boolean isAt(InetSocketAddress source) {
        long p = Endpoint.pack4(source);
        if (p != 0) {
            return p == endpoint4;
        }
        Extras x = extras;
        Endpoint e6 = x == null ? null : x.endpoint6;
        return e6 != null && e6.matches(source);
    }

    /** Records that this client asked for the key at {@code b[off..]}; true if it had not before. */
    boolean recordAsked(byte[] b, int off) {
        KeyRef k = KeyRef.of(b, off);
        synchronized (this) {
            Extras x = extrasLocked();
            if (x.asked == null) {
                x.asked = new LinkedHashSet<>();
            }
            if (x.asked.contains(k)) {
                return false;
            }
            if (x.asked.size() >= MAX_ASKED) {
                x.asked.remove(x.asked.iterator().next());
            }
            x.asked.add(k);
            return true;
        }
    }

    /** Whether this client asked for {@code other} during this registration. */
    boolean hasAsked(Registration other) {
        KeyRef k = KeyRef.of(other.keyBytes, 0);
        synchronized (this) {
            Extras x = extras;
            return x != null && x.asked != null && x.asked.contains(k);
        }
    }

    /** Remembers ss for this key; the monitor is held. */
    void rememberSsLocked(byte[] ss) {
        ss0 = (long) LONGS.get(ss, 0);
        ss1 = (long) LONGS.get(ss, 8);
        ss2 = (long) LONGS.get(ss, 16);
        ss3 = (long) LONGS.get(ss, 24);
        hasSs = true;
    }

    /** Writes the remembered ss to {@code out[0..32)}; false, writing nothing, if there is none. The monitor is held. */
    boolean copySsLocked(byte[] out) {
        if (!hasSs) {
            return false;
        }
        LONGS.set(out, 0, ss0);
        LONGS.set(out, 8, ss1);
        LONGS.set(out, 16, ss2);
        LONGS.set(out, 24, ss3);
        return true;
    }

    /** Forgets ss; the monitor is held (the registry calls it when it drops the registration). */
    void forgetSsLocked() {
        ss0 = 0;
        ss1 = 0;
        ss2 = 0;
        ss3 = 0;
        hasSs = false;
    }
}
