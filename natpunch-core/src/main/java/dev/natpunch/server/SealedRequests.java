package dev.natpunch.server;

import dev.natpunch.crypto.Key;
import dev.natpunch.protocol.v2.BatchLookup;
import dev.natpunch.protocol.v2.ErrorMessage;
import dev.natpunch.protocol.v2.Probe;
import dev.natpunch.protocol.v2.Push;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.Subscription;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Rejection;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.protocol.v2.WireEndpoint;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Version 2's sealed requests (type 4, protocol-v2.md sections 5 and 6): envelope, session,
 * replay window, then the kind. Every answer obeys the answer-size rule (5.4): it is never longer
 * than the request, a LOOKUP_RESULT is truncated to fit and anything else that does not fit is
 * not sent. A LOOKUP allocates nothing unless INFO logging, a listener or relay endpoints
 * (WANT_RELAY with a relay) are on.
 */
final class SealedRequests implements Pushes.EntryWriter {
    private static final Logger log = LoggerFactory.getLogger(RendezvousServer.class);

    private final PacketHandler server;
    private final LongAdder requests = new LongAdder();
    private final LongAdder errors = new LongAdder();
    /** INFO_RESULT's endpoints in wire form (19 bytes each): primary ones only, and all. */
    private volatile byte[] primaryEndpoints = new byte[0];
    private volatile byte[] allEndpoints = new byte[0];
    private volatile BoundSocket[] sockets = new BoundSocket[0];

    SealedRequests(PacketHandler server) {
        this.server = server;
    }

    /** The server's sockets, for INFO and PROBE; at most 8 are listed. */
    void setSockets(List<BoundSocket> bound) {
        List<WireEndpoint> primary = new java.util.ArrayList<>();
        List<WireEndpoint> all = new java.util.ArrayList<>();
        for (BoundSocket b : bound) {
            for (WireEndpoint e : b.advertised()) {
                if (b.primary() && !primary.contains(e)) {
                    primary.add(e);
                }
                if (!all.contains(e)) {
                    all.add(e);
                }
            }
        }
        sockets = bound.toArray(new BoundSocket[0]);
        primaryEndpoints = wire(primary);
        allEndpoints = wire(all);
    }

    private static byte[] wire(List<WireEndpoint> endpoints) {
        int n = Math.min(endpoints.size(), V2Wire.MAX_SERVER_ENDPOINTS);
        byte[] w = new byte[n * WireEndpoint.LENGTH];
        for (int i = 0; i < n; i++) {
            endpoints.get(i).write(w, i * WireEndpoint.LENGTH);
        }
        return w;
    }

    /** Whether there is a probe socket, so that NAT_PROBE can be offered. */
    boolean probing() {
        for (BoundSocket b : sockets) {
            if (!b.primary()) {
                return true;
            }
        }
        return false;
    }

    long requests() {
        return requests.sum();
    }

    long errors() {
        return errors.sum();
    }

    int handle(byte[] in, int off, int len, InetSocketAddress source, BoundSocket at, byte[] out, int outOff,
               PacketHandler.Scratch scratch) {
        V2Rejection envelope = Sealed.check(in, off, len, true);
        if (envelope != null) {
            return server.drop(envelope == V2Rejection.TOO_SHORT ? DropReason.TOO_SHORT : DropReason.TOO_LONG, source);
        }
        Session session = server.sessions.get(Sealed.sessionIndex(in, off));
        if (session == null || session.removed) {
            return server.drop(DropReason.UNKNOWN_SESSION, source);
        }
        if (session.version < 2) {
            return server.drop(DropReason.V1_SESSION, source);
        }
        long now = server.clock.millis();
        if (session.isExpired(now, server.sessionTtlMillis)) {
            return server.drop(DropReason.SESSION_EXPIRED, source);
        }
        byte[] p = scratch.request;
        int plen = Sealed.open(session.receiver, in, off, len, p, 0);
        if (plen < 0) {
            return server.drop(DropReason.DECRYPTION_FAILED, source);
        }
        if (!session.replayWindow.accept(Sealed.counter(in, off))) {
            return server.drop(DropReason.COUNTER_REPLAY, source);
        }
        requests.increment();
        if (at != null && !at.primary()) {
            // A probe measures the mapping toward this socket, which is not the one peers use.
            if (plen < V2Wire.INNER_HEADER_LENGTH || Sealed.kind(p, 0) != V2Wire.KIND_PROBE) {
                return server.drop(DropReason.PROBE_SOCKET, source);
            }
            return dispatch(session, p, plen, len, source, at, now, out, outOff, scratch);
        }
        // Authentic, whatever the plaintext says: it refreshes the sender's endpoint (6.4) and,
        // after an ack had its say, the return address for pushes (6.3).
        server.markUsed(session);
        server.touch(session.owner, source, now);
        int n = dispatch(session, p, plen, len, source, at, now, out, outOff, scratch);
        server.noteDatagram(session, source, len);
        return n;
    }

    private int dispatch(Session session, byte[] p, int plen, int len, InetSocketAddress source, BoundSocket at,
                         long now, byte[] out, int outOff, PacketHandler.Scratch scratch) {
        if (plen < V2Wire.INNER_HEADER_LENGTH) {
            return server.drop(DropReason.MALFORMED_REQUEST, source);
        }
        byte kind = Sealed.kind(p, 0);
        int id = Sealed.id(p, 0);
        V2Rejection r = V2Messages.checkToServer(p, 0, plen);
        if (r == V2Rejection.WRONG_DIRECTION) {
            return server.drop(DropReason.MALFORMED_REQUEST, source);
        }
        if (r == V2Rejection.UNKNOWN_KIND || !session.has(V2Messages.featureOf(kind))) {
            return error(session, id, ErrorMessage.UNSUPPORTED, len, source, out, outOff, scratch);
        }
        if (r != null) {
            log.debug("Malformed request (kind 0x{}) from {}: {}", Integer.toHexString(kind & 0xff), source, r);
            return error(session, id, ErrorMessage.MALFORMED, len, source, out, outOff, scratch);
        }
        switch (kind) {
            case V2Wire.KIND_RELAY:
                return seal(session, scratch.answer, server.relay.answer(session.owner, p, source, now, scratch.answer),
                        len, source, out, outOff);
            case V2Wire.KIND_LOOKUP:
                return lookup(session, p, len, source, now, out, outOff, scratch);
            case V2Wire.KIND_REGISTER:
                return register(session, p, len, source, now, out, outOff, scratch);
            case V2Wire.KIND_INFO:
                return info(session, id, len, source, out, outOff, scratch);
            case V2Wire.KIND_PROBE:
                return probe(session, p, len, source, at, now, out, outOff, scratch);
            case V2Wire.KIND_SUBSCRIBE:
                return subscribe(session, p, len, source, out, outOff, scratch);
            case V2Wire.KIND_PUSH_ACK:
                if (session.push.onAck(id, source)) {
                    server.pushes.wake(session.push);
                }
                return -1;
            default:
                // A kind whose feature this server does not offer cannot have been negotiated.
                return error(session, id, ErrorMessage.UNSUPPORTED, len, source, out, outOff, scratch);
        }
    }

    private int lookup(Session session, byte[] p, int len, InetSocketAddress source, long now,
                       byte[] out, int outOff, PacketHandler.Scratch scratch) {
        int want = BatchLookup.want(p, 0) & negotiatedWant(session);
        int keys = BatchLookup.keyCount(p, 0);
        int limit = Sealed.plaintextLimit(len);
        byte[] a = scratch.answer;
        int pos = BatchLookup.beginResult(a, 0, Sealed.id(p, 0));
        int answered = 0;
        int found = 0;
        for (int i = 0; i < keys; i++) {
            int keyOff = BatchLookup.keyOffset(0, i);
            Registration target = server.registry.find(p, keyOff);
            int version = target != null ? target.version : 0;
            int first = pos + BatchLookup.ENTRY_HEADER_LENGTH;
            server.recordAsked(session.owner, p, keyOff);
            server.lookedUp(session.owner, target, now);
            // Looked up first, then the rule applied: denied takes the path of not found (section 7).
            int c = target != null && server.visible(session.owner, target)
                    ? writeEndpoints(a, first, target, want, now, session.owner) : 0;
            if (c > 0) {
                int end = pos + BatchLookup.entryLength(c);
                if (end > limit) {
                    break;
                }
                BatchLookup.writeEntryHeader(a, pos, i, version, c);
                pos = end;
                found++;
            }
            answered = i + 1;
            server.countLookup(c > 0);
            if (log.isInfoEnabled()) {
                // natpunch-go's line, one per key, so that logs read the same whatever the version.
                Base64.Encoder b64 = Base64.getEncoder();
                log.info("{} ==> {}: {}", b64.encodeToString(Arrays.copyOfRange(session.owner.keyBytes, 0, 12)),
                        b64.encodeToString(Arrays.copyOfRange(p, keyOff, keyOff + 12)), c > 0 ? "CONNECTED" : "NOT FOUND");
            }
            if (server.listener != null) {
                notifyListener(session.owner.key(), p, keyOff, target, a, c > 0 ? first : -1);
            }
        }
        int plen = BatchLookup.finishResult(a, 0, pos, answered);
        if (answered < keys && log.isDebugEnabled()) {
            log.debug("answered {} of {} keys in one LOOKUP ({} found); the rest did not fit", answered, keys, found);
        }
        return seal(session, a, plen, len, source, out, outOff);
    }

    /** Tells the listener about one key; {@code first} is the offset of its first endpoint in {@code a}, or -1. */
    private void notifyListener(Key requester, byte[] p, int keyOff, Registration target, byte[] a, int first) {
        Key targetKey = target != null ? target.key() : Key.fromBytes(Arrays.copyOfRange(p, keyOff, keyOff + Key.LENGTH));
        Optional<InetSocketAddress> at = Optional.empty();
        if (first >= 0) {
            WireEndpoint e = WireEndpoint.read(a, first);
            at = Optional.of(new InetSocketAddress(e.address(), e.port()));
        }
        try {
            server.listener.onLookup(requester, targetKey, at);
        } catch (RuntimeException e) {
            log.warn("ServerListener.onLookup threw", e);
        }
    }

    /**
     * Writes {@code target}'s endpoints that {@code want} asks for at {@code at}, in the order of
     * 6.1 (server-reflexive, most recently refreshed first, then local, then the relay port
     * facing {@code requester} when the pair's relay allocation is ready), at most 8.
     *
     * @return how many were written; 0 means "not found" (unknown, expired, or nothing wanted)
     */
    int writeEndpoints(byte[] a, int at, Registration target, int want, long now, Registration requester) {
        long ttl = server.registrationTtlMillis;
        if (target.removed || target.isExpired(now, ttl)) {
            return 0;
        }
        int n = 0;
        if ((want & V2Wire.WANT_SERVER_REFLEXIVE) != 0) {
            long e4 = (want & V2Wire.WANT_IPV4) != 0 ? target.liveEndpoint4(now, ttl) : 0;
            Endpoint e6 = (want & V2Wire.WANT_IPV6) != 0 ? target.liveEndpoint6(now, ttl) : null;
            boolean sixFirst = e4 != 0 && e6 != null && target.seen6Millis() > target.seen4Millis;
            if (sixFirst) {
                System.arraycopy(e6.wire, 0, a, at + n++ * WireEndpoint.LENGTH, WireEndpoint.LENGTH);
            }
            if (e4 != 0) {
                Endpoint.writeWire4(e4, a, at + n++ * WireEndpoint.LENGTH);
            }
            if (e6 != null && !sixFirst) {
                System.arraycopy(e6.wire, 0, a, at + n++ * WireEndpoint.LENGTH, WireEndpoint.LENGTH);
            }
        }
        if ((want & V2Wire.WANT_LOCAL) != 0) {
            byte[] c = target.candidates();
            for (int i = 0; i < c.length && n < V2Wire.MAX_ENDPOINTS_PER_PEER; i += WireEndpoint.LENGTH) {
                int family = WireEndpoint.family(c, i);
                if ((want & (family == WireEndpoint.FAMILY_IPV4 ? V2Wire.WANT_IPV4 : V2Wire.WANT_IPV6)) != 0) {
                    System.arraycopy(c, i, a, at + n++ * WireEndpoint.LENGTH, WireEndpoint.LENGTH);
                }
            }
        }
        if ((want & V2Wire.WANT_RELAY) != 0 && server.relay != null && n < V2Wire.MAX_ENDPOINTS_PER_PEER) {
            n += server.relay.writeEndpoint(a, at + n * WireEndpoint.LENGTH, requester.key(), target.key(), want);
        }
        return n;
    }

    /** The want bits a session may use: IPv6 needs DUAL_STACK, local CANDIDATES, relay RELAY (5.6). */
    static int negotiatedWant(Session session) {
        int want = V2Wire.WANT_IPV4 | V2Wire.WANT_SERVER_REFLEXIVE;
        if (session.has(V2Wire.FEATURE_DUAL_STACK)) {
            want |= V2Wire.WANT_IPV6;
        }
        if (session.has(V2Wire.FEATURE_CANDIDATES)) {
            want |= V2Wire.WANT_LOCAL;
        }
        if (session.has(V2Wire.FEATURE_RELAY)) {
            want |= V2Wire.WANT_RELAY;
        }
        return want;
    }

    private int subscribe(Session session, byte[] p, int len, InetSocketAddress source, byte[] out, int outOff,
                          PacketHandler.Scratch scratch) {
        int cap = server.pushes.perSessionCap();
        if (Subscription.operation(p, 0) != Subscription.OP_REMOVE) {
            for (int i = 0; i < Subscription.keyCount(p, 0); i++) {
                server.recordAsked(session.owner, p, Subscription.keyOffset(0, i));
            }
        }
        int r = session.push.subscribe(Subscription.operation(p, 0), Subscription.want(p, 0) & negotiatedWant(session),
                p, 0, Subscription.keyCount(p, 0), cap);
        byte[] a = scratch.answer;
        int plen = Subscription.writeResult(a, 0, Sealed.id(p, 0), r >>> 16, r & 0xffff, cap);
        return seal(session, a, plen, len, source, out, outOff);
    }

    /**
     * Writes {@code key}'s push entry for {@code subscriber} at {@code pos}: its current endpoints
     * under {@code want}, or none when it is gone (then with a fresh version, newer than any the
     * subscriber holds).
     *
     * @return where the entry ends
     */
    /**
     * A key that is gone can only be judged by the allow-list; in mutual mode, whom it had asked
     * for went with its registration, so it counts as invisible (its subscribers who were never
     * pushed it then get no "gone" push either).
     */
    @Override
    public boolean visible(Session subscriber, KeyRef key) {
        Registration target = server.registry.find(key.bytes(), 0);
        if (target != null) {
            return server.visible(subscriber.owner, target);
        }
        AllowList allow = server.allowList;
        return !server.mutual && (allow == null
                || allow.contains(subscriber.owner.keyBytes, 0) && allow.contains(key.bytes(), 0));
    }

    @Override
    public int write(byte[] a, int pos, KeyRef key, int want, Session subscriber, long now) {
        byte[] k = key.bytes();
        Registration target = server.registry.find(k, 0);
        int version = target != null ? target.version : 0;
        int c = target != null && server.visible(subscriber.owner, target)
                ? writeEndpoints(a, pos + Push.ENTRY_HEADER_LENGTH, target, want, now, subscriber.owner) : 0;
        if (c == 0) {
            version = server.versions.next(now);
        }
        Push.writeEntryHeader(a, pos, k, 0, version, c);
        return pos + Push.entryLength(c);
    }

    private int register(Session session, byte[] p, int len, InetSocketAddress source, long now,
                         byte[] out, int outOff, PacketHandler.Scratch scratch) {
        Registration owner = session.owner;
        if (dev.natpunch.protocol.v2.Registration.replacesCandidates(p, 0)) {
            byte[] kept = session.has(V2Wire.FEATURE_CANDIDATES)
                    ? Candidates.accept(p, 0) : Registration.NO_CANDIDATES;
            synchronized (owner) {
                if (!Arrays.equals(owner.candidates(), kept)) {
                    owner.extrasLocked().candidates = kept;
                    server.endpointsChanged(owner, now);
                }
            }
        }
        byte[] a = scratch.answer;
        int plen = dev.natpunch.protocol.v2.Registration.writeResult(a, 0, Sealed.id(p, 0), owner.candidateCount());
        writeObserved(source, a, dev.natpunch.protocol.v2.Registration.observedOffset(0));
        return seal(session, a, plen, len, source, out, outOff);
    }

    /** Writes the wire form of {@code source} as seen (kind server-reflexive) at {@code a[at..]}. */
    private static void writeObserved(InetSocketAddress source, byte[] a, int at) {
        long p = Endpoint.pack4(source);
        if (p != 0) {
            Endpoint.writeWire4(p, a, at);
        } else {
            System.arraycopy(Endpoint.of(source).wire, 0, a, at, WireEndpoint.LENGTH);
        }
    }

    private int info(Session session, int id, int len, InetSocketAddress source, byte[] out, int outOff,
                     PacketHandler.Scratch scratch) {
        byte[] endpoints = session.has(V2Wire.FEATURE_NAT_PROBE) ? allEndpoints : primaryEndpoints;
        if (endpoints.length == 0) {
            return error(session, id, ErrorMessage.UNAVAILABLE, len, source, out, outOff, scratch);
        }
        byte[] a = scratch.answer;
        int body = Sealed.writeInnerHeader(a, 0, V2Wire.KIND_INFO_RESULT, id, endpoints.length);
        System.arraycopy(endpoints, 0, a, body, endpoints.length);
        return seal(session, a, body + endpoints.length, len, source, out, outOff);
    }

    /**
     * PROBE (6.6): the source as seen, answered from the socket the flags name within the
     * arrival socket's group, or UNAVAILABLE from the arrival socket when there is none.
     */
    private int probe(Session session, byte[] p, int len, InetSocketAddress source, BoundSocket at, long now,
                      byte[] out, int outOff, PacketHandler.Scratch scratch) {
        int id = Sealed.id(p, 0);
        if (!session.allowProbe(now)) {
            return session.allowRateLimitedError(now)
                    ? error(session, id, ErrorMessage.RATE_LIMITED, len, source, out, outOff, scratch)
                    : server.drop(DropReason.RATE_LIMITED, source);
        }
        BoundSocket from = null;
        if (at != null) {
            int bits = at.probeBits() ^ Probe.flags(p, 0);
            for (BoundSocket b : sockets) {
                if (b.group() == at.group() && b.probeBits() == bits && b.originFor(source) != null) {
                    from = b;
                }
            }
        }
        if (from == null) {
            return error(session, id, ErrorMessage.UNAVAILABLE, len, source, out, outOff, scratch);
        }
        byte[] a = scratch.answer;
        int plen = Probe.writeResult(a, 0, id);
        writeObserved(source, a, Probe.mappedOffset(0));
        from.originFor(source).write(a, Probe.originOffset(0));
        int n = seal(session, a, plen, len, source, out, outOff);
        if (n > 0 && from.slot() != at.slot()) {
            scratch.sendFrom = from.slot();
        }
        return n;
    }

    int error(Session session, int id, int code, int len, InetSocketAddress source, byte[] out, int outOff,
              PacketHandler.Scratch scratch) {
        byte[] a = scratch.answer;
        int plen = ErrorMessage.write(a, 0, id, code);
        int n = seal(session, a, plen, len, source, out, outOff);
        if (n > 0) {
            errors.increment();
        }
        return n;
    }

    /**
     * Seals an answer of {@code plen} plaintext bytes with the session's next send counter, unless
     * the datagram would be longer than the request's {@code len} bytes (the answer-size rule).
     */
    private int seal(Session session, byte[] a, int plen, int len, InetSocketAddress source, byte[] out, int outOff) {
        if (plen > Sealed.plaintextLimit(len)) {
            return server.drop(DropReason.ANSWER_TOO_LONG, source);
        }
        long counter = session.nextSendCounter();
        int n = Sealed.seal(session.sender, V2Wire.TYPE_SEALED_TO_CLIENT, session.index, counter, a, 0, plen, 0,
                out, outOff);
        if (session.removed) {
            // A newer handshake destroyed the keys while this answer was sealed: it may be garbage.
            return server.drop(DropReason.UNKNOWN_SESSION, source);
        }
        return n;
    }
}
