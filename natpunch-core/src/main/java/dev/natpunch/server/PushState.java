package dev.natpunch.server;

import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Wire;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * One version 2 session's subscriptions and pushes (protocol-v2.md 6.2 and 6.3): the subscribed
 * keys, the entries due (coalesced by key), the pushes in flight and the return address with its
 * validation. Its size is bounded by the subscription cap: at most one pending entry per key,
 * at most {@value #MAX_IN_FLIGHT} pushes in flight, {@value #ID_MEMORY} remembered push ids.
 *
 * <p>Thread-safe: every method takes this object's monitor. Workers call the request methods,
 * the push thread of {@link Pushes} the sending ones.
 */
final class PushState {
    static final int MAX_IN_FLIGHT = 4;
    /** Sends of one push while the return address is not validated. */
    static final int UNVALIDATED_SENDS = 3;
    /** Acks naming ids never sent after which the session gets no more pushes. */
    static final int WRONG_ACK_LIMIT = 16;
    static final long FIRST_RETRANSMIT_MILLIS = 500;
    static final long MAX_RETRANSMIT_MILLIS = 16_000;
    static final long ID_MEMORY_MILLIS = 60_000;
    static final int ID_MEMORY = 64;
    /** Keys that looked the owner up (INTEREST) a session remembers; the oldest goes first. */
    static final int MAX_INTEREST = 64;
    /** Lookups by the same key this close together queue nothing: the first one did. */
    static final long INTEREST_REPEAT_MILLIS = 1_000;
    /** A digest no endpoint set has: the subscriber has been told nothing about the key yet. */
    private static final long UNKNOWN = 0;

    /** A push datagram's content, resealed with a new counter at every send. */
    static final class InFlight {
        final int id;
        final byte[] plain;
        final List<KeyRef> keys;
        final InetSocketAddress to;
        int sends;
        long interval = FIRST_RETRANSMIT_MILLIS;

        InFlight(int id, byte[] plain, List<KeyRef> keys, InetSocketAddress to) {
            this.id = id;
            this.plain = plain;
            this.keys = keys;
            this.to = to;
        }
    }

    final Session session;
    private final Pushes pushes;
    /** Subscribed key to the digest of what the subscriber was last pushed about it. */
    private final Map<KeyRef, long[]> keys = new HashMap<>();
    private int want;
    /**
     * Keys not subscribed to that looked the owner up (INTEREST): {digest last pushed, when last
     * queued}, oldest first. Entries count against the server's total subscription cap.
     */
    private final LinkedHashMap<KeyRef, long[]> interest = new LinkedHashMap<>(0);
    private final LinkedHashSet<KeyRef> pending = new LinkedHashSet<>();
    // Both start without room: most sessions are never pushed anything, and there are many sessions.
    private final List<InFlight> inFlight = new ArrayList<>();
    /** Push ids sent in the last minute: {id, sent at}. */
    private final ArrayDeque<long[]> sentIds = new ArrayDeque<>(0);
    private InetSocketAddress returnAddress;
    private int lastLength;
    private boolean validated;
    private int wrongAcks;
    private boolean stopped;
    private boolean ended;
    private boolean flushQueued;

    PushState(Session session, Pushes pushes) {
        this.session = session;
        this.pushes = pushes;
    }

    // ---- requests (worker threads) ----

    /**
     * Applies a SUBSCRIBE (6.2) whose keys are at {@code keyOff(i)} in {@code p}.
     *
     * @return {@code status << 16 | size}
     */
    synchronized int subscribe(int op, int newWant, byte[] p, int off, int count, int cap) {
        if (ended) {
            return Subscription.STATUS_OK << 16;
        }
        List<KeyRef> listed = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            listed.add(KeyRef.of(p, Subscription.keyOffset(off, i)));
        }
        LinkedHashSet<KeyRef> add = new LinkedHashSet<>();
        List<KeyRef> remove = new ArrayList<>();
        if (op == Subscription.OP_REPLACE) {
            LinkedHashSet<KeyRef> target = new LinkedHashSet<>(listed);
            for (KeyRef k : keys.keySet()) {
                if (!target.contains(k)) {
                    remove.add(k);
                }
            }
            for (KeyRef k : target) {
                if (!keys.containsKey(k)) {
                    add.add(k);
                }
            }
        } else if (op == Subscription.OP_ADD) {
            for (KeyRef k : listed) {
                if (!keys.containsKey(k)) {
                    add.add(k);
                }
            }
        } else {
            for (KeyRef k : new LinkedHashSet<>(listed)) {
                if (keys.containsKey(k)) {
                    remove.add(k);
                }
            }
        }
        int size = keys.size() + add.size() - remove.size();
        if (size > cap || !pushes.reserve(add.size() - remove.size())) {
            return Subscription.STATUS_LIMIT << 16 | keys.size();
        }
        want = newWant;
        for (KeyRef k : remove) {
            keys.remove(k);
            pending.remove(k);
            pushes.unindex(k, this);
        }
        for (KeyRef k : add) {
            if (interest.remove(k) != null) {
                pushes.reserve(-1);
            }
            keys.put(k, new long[] {UNKNOWN});
            pushes.index(k, this);
        }
        return Subscription.STATUS_OK << 16 | keys.size();
    }

    /**
     * {@code looker} looked up this session's owner, which negotiated INTEREST:
     * unless the session already follows {@code looker}, its current endpoints are due, once per
     * change of them, so that the owner can act on a peer it has not looked for yet.
     *
     * @return whether the push thread should look at this session
     */
    synchronized boolean interested(KeyRef looker, long now) {
        if (ended || stopped || keys.containsKey(looker)) {
            return false;
        }
        long[] held = interest.get(looker);
        if (held == null) {
            if (interest.size() >= MAX_INTEREST) {
                KeyRef oldest = interest.keySet().iterator().next();
                interest.remove(oldest);
                pending.remove(oldest);
                pushes.reserve(-1);
            }
            if (!pushes.reserve(1)) {
                return false;
            }
            held = new long[] {UNKNOWN, now};
            interest.put(looker, held);
        } else if (now - held[1] < INTEREST_REPEAT_MILLIS) {
            return false;
        } else {
            held[1] = now;
        }
        pending.add(looker);
        return needsFlush();
    }

    synchronized int interestCount() {
        return interest.size();
    }

    synchronized int size() {
        return keys.size();
    }

    /**
     * An authenticated type 3 or 4 datagram of {@code len} bytes arrived from {@code source}: it
     * becomes the return address. A new address starts unvalidated; pushes that used up their
     * unvalidated sends are rebuilt for it.
     *
     * @return whether the push thread should look at this session
     */
    synchronized boolean onDatagram(InetSocketAddress source, int len) {
        lastLength = len;
        if (!source.equals(returnAddress)) {
            returnAddress = source;
            validated = false;
            requeueInFlight(f -> true);
            return needsFlush();
        }
        if (!validated && !inFlight.isEmpty() && inFlight.get(0).sends >= UNVALIDATED_SENDS) {
            requeueInFlight(f -> true);
        }
        return !validated && needsFlush();
    }

    /**
     * A PUSH_ACK for {@code id} from {@code source}.
     *
     * @return whether the push thread should look at this session (room for more pushes)
     */
    synchronized boolean onAck(int id, InetSocketAddress source) {
        for (Iterator<InFlight> it = inFlight.iterator(); it.hasNext(); ) {
            InFlight f = it.next();
            if (f.id == id) {
                it.remove();
                if (source.equals(f.to) && source.equals(returnAddress)) {
                    validated = true;
                }
                return needsFlush();
            }
        }
        for (long[] sent : sentIds) {
            if ((int) sent[0] == id) {
                return false; // a late ack of a superseded or already acknowledged push
            }
        }
        if (++wrongAcks >= WRONG_ACK_LIMIT && !stopped) {
            stopped = true;
            pending.clear();
            inFlight.clear();
            Pushes.log.info("Session {} named {} push ids it was never sent; no more pushes until its next handshake",
                    Integer.toUnsignedString(session.index), wrongAcks);
        }
        return false;
    }

    // ---- pushes (the push thread) ----

    /**
     * {@code key}'s endpoint set changed: it is due, and a push in flight that carries older state
     * of it is dropped (a late ack of it is ignored) and its entries are due again.
     *
     * @return whether the push thread should look at this session
     */
    synchronized boolean due(KeyRef key) {
        if (ended || stopped || !keys.containsKey(key)) {
            return false;
        }
        requeueInFlight(f -> f.keys.contains(key));
        pending.add(key);
        return needsFlush();
    }

    /** Marks a flush as queued; false if one already is (so that one task serves many triggers). */
    synchronized boolean queueFlush() {
        if (flushQueued) {
            return false;
        }
        flushQueued = true;
        return true;
    }

    /**
     * Builds and sends as many new pushes as the in-flight limit and the address allow.
     *
     * @param entries writes a key's current entry (filtered by this session's want); see {@link Pushes}
     */
    synchronized void flush(long now, Pushes.EntryWriter entries, byte[] scratch) {
        flushQueued = false;
        forgetOldIds(now);
        while (!ended && !stopped && returnAddress != null && !pending.isEmpty()
                && inFlight.size() < (validated ? MAX_IN_FLIGHT : 1)) {
            int limit = Sealed.plaintextLimit(validated ? V2Wire.MAX_DATAGRAM : lastLength);
            int id = pushes.newPushId();
            int pos = Push.beginUpdate(scratch, 0, id);
            List<KeyRef> carried = new ArrayList<>();
            for (Iterator<KeyRef> it = pending.iterator(); it.hasNext(); ) {
                KeyRef k = it.next();
                long[] last = keys.get(k);
                boolean looker = last == null && (last = interest.get(k)) != null;
                // A session that subscribed to nothing has no want of its own yet.
                int end = entries.write(scratch, pos, k, looker ? SealedRequests.negotiatedWant(session) : want,
                        session, now);
                long digest = Pushes.digest(scratch, pos + 32 + 4, end);
                if (last == null || last[0] == digest
                        || last[0] == UNKNOWN && !entries.visible(session, k)
                        || looker && end == pos + Push.ENTRY_HEADER_LENGTH) {
                    // Unsubscribed, or nothing new; a key the subscriber may not see is never
                    // pushed, not even as "gone" (section 7: invisible is not found, and silent);
                    // and a looker that is gone or unseen is no news either.
                    it.remove();
                    continue;
                }
                if (end > limit) {
                    continue;
                }
                last[0] = digest;
                it.remove();
                carried.add(k);
                pos = end;
            }
            if (carried.isEmpty()) {
                return; // nothing changed, or not even one entry fits the unvalidated address's size
            }
            int plen = Push.finishUpdate(scratch, 0, pos);
            InFlight f = new InFlight(id, java.util.Arrays.copyOf(scratch, plen), carried, returnAddress);
            inFlight.add(f);
            rememberId(id, now);
            send(f);
        }
    }

    /** A retransmission is due for {@code f}, if it is still in flight. */
    synchronized void retransmit(InFlight f) {
        if (ended || stopped || !inFlight.contains(f)) {
            return;
        }
        if (!validated && f.sends >= UNVALIDATED_SENDS) {
            return; // waits for the client's next datagram (onDatagram)
        }
        f.interval = Math.min(MAX_RETRANSMIT_MILLIS, f.interval * 2);
        send(f);
    }

    private void send(InFlight f) {
        f.sends++;
        pushes.transmit(this, f);
    }

    /** The session ended: its subscriptions go with it. */
    synchronized void end() {
        if (ended) {
            return;
        }
        ended = true;
        for (KeyRef k : keys.keySet()) {
            pushes.unindex(k, this);
        }
        pushes.reserve(-keys.size() - interest.size());
        keys.clear();
        interest.clear();
        pending.clear();
        inFlight.clear();
    }

    synchronized int inFlightCount() {
        return inFlight.size();
    }

    synchronized int pendingCount() {
        return pending.size();
    }

    synchronized boolean isValidated() {
        return validated;
    }

    synchronized boolean isStopped() {
        return stopped;
    }

    private boolean needsFlush() {
        return !pending.isEmpty() && !ended && !stopped;
    }

    private void requeueInFlight(java.util.function.Predicate<InFlight> which) {
        for (Iterator<InFlight> it = inFlight.iterator(); it.hasNext(); ) {
            InFlight f = it.next();
            if (which.test(f)) {
                it.remove();
                for (KeyRef k : f.keys) {
                    long[] last = keys.containsKey(k) ? keys.get(k) : interest.get(k);
                    if (last != null) {
                        last[0] = UNKNOWN; // not acknowledged: send again, whatever it was
                        pending.add(k);
                    }
                }
            }
        }
    }

    private void rememberId(int id, long now) {
        if (sentIds.size() >= ID_MEMORY) {
            sentIds.removeFirst();
        }
        sentIds.addLast(new long[] {id, now});
    }

    private void forgetOldIds(long now) {
        while (!sentIds.isEmpty() && now - sentIds.peekFirst()[1] > ID_MEMORY_MILLIS) {
            sentIds.removeFirst();
        }
    }
}
