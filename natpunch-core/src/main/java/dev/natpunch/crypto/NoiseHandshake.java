package dev.natpunch.crypto;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;

/**
 * One Noise_IK_25519_ChaChaPoly_BLAKE2s handshake (Noise revision 34, no PSK), as the rendezvous
 * protocol runs it: the client is the initiator and knows the server's static key in advance
 * ({@code <- s}); then {@code -> e, es, s, ss} and {@code <- e, ee, se}, each with a payload.
 *
 * <pre>{@code
 * NoiseHandshake client = NoiseHandshake.initiator(clientKeys, serverPublicKey, NATPUNCH_PROLOGUE);
 * int n1 = client.writeMessage(timestamp, 0, 8, msg1, 0);           // 104 bytes
 * NoiseHandshake server = NoiseHandshake.responder(serverKeys, NATPUNCH_PROLOGUE);
 * server.readMessage(msg1, 0, n1, payload, 0);                        // learns the client key
 * int n2 = server.writeMessage(new byte[0], 0, 0, msg2, 0);           // 48 bytes
 * client.readMessage(msg2, 0, n2, payload, 0);
 * TransportKeys c = client.split(), s = server.split();
 * }</pre>
 *
 * <p><b>Not thread-safe</b>: one handshake is driven by one thread at a time. It only carries the
 * Noise messages; the rendezvous framing (type byte, session index) is the caller's. A server
 * keeps one responder per thread and {@link #reset()}s it for each message 1, so that a handshake
 * allocates no state of its own.
 *
 * <p>A {@link #readMessage} that fails leaves the handshake as it was before the call, so a
 * forged or corrupted datagram does not spoil a handshake that a genuine message can still
 * complete.
 */
public final class NoiseHandshake {
    /** The prologue of the rendezvous protocol: the 26 ASCII bytes {@code natpunch-go is the best :)}. */
    public static final byte[] NATPUNCH_PROLOGUE = "natpunch-go is the best :)".getBytes(StandardCharsets.US_ASCII);

    /** Length of message 1 without payload: e (32) + encrypted s (32 + 16) + payload tag (16). */
    public static final int MESSAGE1_OVERHEAD = 96;
    /** Length of message 2 without payload: e (32) + payload tag (16). */
    public static final int MESSAGE2_OVERHEAD = 48;
    /** Noise's limit on a message's length. */
    public static final int MAX_MESSAGE_LENGTH = 65535;

    private static final byte[] PROTOCOL_NAME =
            "Noise_IK_25519_ChaChaPoly_BLAKE2s".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int KEY = Key.LENGTH;
    private static final int TAG = ChaChaPoly.TAG_LENGTH;

    // Steps of the pattern; FAILED only after a write that could not complete.
    private static final int WRITE_1 = 0;
    private static final int READ_1 = 1;
    private static final int WRITE_2 = 2;
    private static final int READ_2 = 3;
    private static final int COMPLETE = 4;
    private static final int SPLIT = 5;

    private final boolean initiator;
    private final SymmetricState ss;
    private final byte[] s;           // local static private: the key's own bytes, never copied
    private final byte[] sPub;
    private final byte[] e = new byte[KEY];
    private final byte[] ePub = new byte[KEY];
    private final byte[] rs = new byte[KEY];
    private final byte[] re = new byte[KEY];
    private final byte[] dh = new byte[KEY];
    // The initiator's ss = DH(s, rs), computed when it is created: that checks rs and costs no extra.
    private final byte[] ssDh = new byte[KEY];
    /** rs before a read, to restore when the read fails. */
    private final byte[] rsBefore = new byte[KEY];
    /** The symmetric state after the pre-messages, the same for every handshake of a responder. */
    private final byte[] initialCk = new byte[KEY];
    private final byte[] initialH = new byte[KEY];
    private final boolean fixedEphemeral;
    private int step;

    private NoiseHandshake(boolean initiator, KeyPair localStatic, Key remoteStatic, byte[] prologue,
                           KeyPair fixedEphemeral) {
        Objects.requireNonNull(localStatic, "localStatic");
        Objects.requireNonNull(prologue, "prologue");
        this.initiator = initiator;
        // No copy: a server would otherwise leave one copy of its private key in the heap for
        // every message 1 it rejects.
        this.s = localStatic.privateKey().material();
        this.sPub = localStatic.publicKey().toBytes();
        if (fixedEphemeral != null) {
            fixedEphemeral.privateKey().copyTo(e, 0);
            fixedEphemeral.publicKey().copyTo(ePub, 0);
        }
        this.fixedEphemeral = fixedEphemeral != null;
        ss = new SymmetricState(PROTOCOL_NAME);
        ss.mixHash(prologue, 0, prologue.length);
        if (initiator) {
            remoteStatic.copyTo(rs, 0);
            ss.mixHash(rs, 0, KEY);
            step = WRITE_1;
        } else {
            ss.mixHash(sPub, 0, KEY);
            step = READ_1;
        }
        System.arraycopy(ss.ck, 0, initialCk, 0, KEY);
        System.arraycopy(ss.h, 0, initialH, 0, KEY);
    }

    /**
     * Makes this responder ready to read a new message 1, as a new one would be, but without
     * allocating: every secret of the handshake it was in is zeroed (a complete one should have
     * been {@link #split()} first). Only a responder with a random ephemeral key can be reset.
     *
     * @throws IllegalStateException on an initiator or a responder with a fixed ephemeral key
     */
    public void reset() {
        if (initiator || fixedEphemeral) {
            throw new IllegalStateException("only a responder with random ephemeral keys can be reset");
        }
        ss.reset(initialCk, initialH);
        Arrays.fill(e, (byte) 0);
        Arrays.fill(ePub, (byte) 0);
        Arrays.fill(rs, (byte) 0);
        Arrays.fill(re, (byte) 0);
        Arrays.fill(dh, (byte) 0);
        step = READ_1;
    }

    /**
     * The client side: will send message 1 to the server whose static public key is
     * {@code remoteStatic}, then read message 2.
     *
     * @throws IllegalArgumentException if {@code remoteStatic} is a low-order point (no Diffie-Hellman
     *     with it is possible, so no server can own it)
     */
    public static NoiseHandshake initiator(KeyPair localStatic, Key remoteStatic, byte[] prologue) {
        return initiator(localStatic, remoteStatic, prologue, null);
    }

    /** The server side: will read message 1 (learning the client's key), then send message 2. */
    public static NoiseHandshake responder(KeyPair localStatic, byte[] prologue) {
        return responder(localStatic, prologue, null);
    }

    /**
     * Like {@link #initiator(KeyPair, Key, byte[])} but with a fixed ephemeral key pair instead of
     * a fresh random one. <b>For test vectors and byte-pinning tests only</b>: reusing an ephemeral
     * key in real handshakes destroys forward secrecy and lets messages be replayed.
     */
    public static NoiseHandshake initiator(KeyPair localStatic, Key remoteStatic, byte[] prologue,
                                           KeyPair fixedEphemeral) {
        Objects.requireNonNull(remoteStatic, "remoteStatic");
        NoiseHandshake hs = new NoiseHandshake(true, localStatic, remoteStatic, prologue, fixedEphemeral);
        if (!X25519.agree(hs.s, 0, hs.rs, 0, hs.ssDh, 0)) {
            throw new IllegalArgumentException("the remote static key is a low-order point, not a usable public key");
        }
        return hs;
    }

    /**
     * Like {@link #responder(KeyPair, byte[])} but with a fixed ephemeral key pair. <b>For test
     * vectors and byte-pinning tests only</b>, see {@link #initiator(KeyPair, Key, byte[], KeyPair)}.
     */
    public static NoiseHandshake responder(KeyPair localStatic, byte[] prologue, KeyPair fixedEphemeral) {
        return new NoiseHandshake(false, localStatic, null, prologue, fixedEphemeral);
    }

    /**
     * Writes the next handshake message into {@code out} at {@code outOffset}: for the initiator
     * message 1 ({@code e, es, s, ss} and the encrypted payload), for the responder message 2
     * ({@code e, ee, se} and the encrypted payload). {@code payload} and {@code out} must not
     * overlap.
     *
     * @return bytes written: {@code 96 + payloadLength} for message 1, {@code 48 + payloadLength}
     *     for message 2
     * @throws IllegalStateException if it is not this side's turn to write
     * @throws IndexOutOfBoundsException if {@code out} has no room for the message
     * @throws IllegalArgumentException if the message would exceed 65535 bytes
     */
    public int writeMessage(byte[] payload, int payloadOffset, int payloadLength, byte[] out, int outOffset) {
        Objects.checkFromIndexSize(payloadOffset, payloadLength, payload.length);
        int overhead = step == WRITE_1 ? MESSAGE1_OVERHEAD : MESSAGE2_OVERHEAD;
        if (step != WRITE_1 && step != WRITE_2) {
            throw new IllegalStateException("not this side's turn to write a handshake message (" + stepName() + ")");
        }
        if (overhead + payloadLength > MAX_MESSAGE_LENGTH) {
            throw new IllegalArgumentException("handshake message longer than " + MAX_MESSAGE_LENGTH + " bytes");
        }
        Objects.checkFromIndexSize(outOffset, overhead + payloadLength, out.length);
        if (!fixedEphemeral) {
            // Made only now, so a server pays nothing for it on a message 1 it rejects.
            RANDOM.nextBytes(e);
            X25519.clamp(e);
            X25519.publicKey(e, 0, ePub, 0);
        }
        int p = outOffset;
        System.arraycopy(ePub, 0, out, p, KEY);
        ss.mixHash(ePub, 0, KEY);
        p += KEY;
        if (step == WRITE_1) {
            dhOrFail(e, rs);                                   // es
            ss.mixKey(dh, 0, KEY);
            p += ss.encryptAndHash(sPub, 0, KEY, out, p);       // s
            ss.mixKey(ssDh, 0, KEY);                           // ss
            Arrays.fill(ssDh, (byte) 0);
            p += ss.encryptAndHash(payload, payloadOffset, payloadLength, out, p);
            step = READ_2;
        } else {
            dhOrFail(e, re);                                   // ee
            ss.mixKey(dh, 0, KEY);
            dhOrFail(e, rs);                                   // se
            ss.mixKey(dh, 0, KEY);
            p += ss.encryptAndHash(payload, payloadOffset, payloadLength, out, p);
            step = COMPLETE;
            wipeEphemeral();
        }
        Arrays.fill(dh, (byte) 0);
        return p - outOffset;
    }

    /**
     * Reads the next handshake message from {@code in} and writes its decrypted payload to
     * {@code payloadOut}. The responder learns the initiator's static key here
     * ({@link #remoteStaticKey()}). On failure the handshake is left as it was before the call and
     * nothing is written to {@code payloadOut}. {@code in} and {@code payloadOut} must not overlap.
     *
     * @return the payload length ({@code length - 96} for message 1, {@code length - 48} for message 2)
     * @throws HandshakeException TRUNCATED if the message is too short, DECRYPTION_FAILED if a tag
     *     does not verify, INVALID_KEY if a received key is a low-order point, WRONG_STATE if
     *     this side is not expecting a message
     * @throws IndexOutOfBoundsException if {@code payloadOut} has no room for the payload
     */
    public int readMessage(byte[] in, int offset, int length, byte[] payloadOut, int payloadOutOffset)
            throws HandshakeException {
        return readMessage(in, offset, length, payloadOut, payloadOutOffset, null);
    }

    /**
     * {@link #readMessage(byte[], int, int, byte[], int)} for a responder that remembers the
     * static-static Diffie-Hellman of initiators it met before: when message 1's initiator key
     * (decrypted with the key from es) is one {@code cache} finds, its ss is used instead of a
     * scalar multiplication; otherwise ss is computed and, once the payload authenticated,
     * offered to {@code cache}. Sound for Noise IK because ss = DH(s, rs) is a function of the two
     * static keys alone (see {@link StaticDhCache}); the payload's tag still proves that the
     * sender knows the private key of rs, since an ss that was not DH(s, rs) fails it. The
     * initiator ignores {@code cache} (it computes its ss when it is created).
     *
     * @param cache remembered ss values of this responder's static key, or null
     */
    public int readMessage(byte[] in, int offset, int length, byte[] payloadOut, int payloadOutOffset,
                           StaticDhCache cache) throws HandshakeException {
        Objects.checkFromIndexSize(offset, length, in.length);
        if (step != READ_1 && step != READ_2) {
            throw new HandshakeException(HandshakeException.Reason.WRONG_STATE,
                    "not expecting a handshake message to read (" + stepName() + ")");
        }
        int overhead = step == READ_1 ? MESSAGE1_OVERHEAD : MESSAGE2_OVERHEAD;
        if (length < overhead) {
            throw new HandshakeException(HandshakeException.Reason.TRUNCATED,
                    "handshake message " + (step == READ_1 ? 1 : 2) + " is " + length
                            + " bytes, at least " + overhead + " needed");
        }
        int payloadLength = length - overhead;
        Objects.checkFromIndexSize(payloadOutOffset, payloadLength, payloadOut.length);

        ss.mark();
        System.arraycopy(rs, 0, rsBefore, 0, KEY);
        try {
            int p = offset;
            System.arraycopy(in, p, re, 0, KEY);
            ss.mixHash(re, 0, KEY);
            p += KEY;
            if (step == READ_1) {
                dhOrThrow(s, re);                                // es
                ss.mixKey(dh, 0, KEY);
                decryptOrThrow(in, p, KEY + TAG, rs, 0);         // s
                p += KEY + TAG;
                boolean remembered = cache != null && cache.find(rs, 0, dh);
                if (!remembered) {
                    dhOrThrow(s, rs);                            // ss
                }
                ss.mixKey(dh, 0, KEY);
                decryptOrThrow(in, p, payloadLength + TAG, payloadOut, payloadOutOffset);
                if (!remembered && cache != null) {
                    cache.offer(rs, 0, dh);
                }
                step = WRITE_2;
            } else {
                dhOrThrow(e, re);                                // ee
                ss.mixKey(dh, 0, KEY);
                dhOrThrow(s, re);                                // se
                ss.mixKey(dh, 0, KEY);
                decryptOrThrow(in, p, payloadLength + TAG, payloadOut, payloadOutOffset);
                step = COMPLETE;
                wipeEphemeral();
            }
            return payloadLength;
        } catch (HandshakeException ex) {
            ss.rollback();
            System.arraycopy(rsBefore, 0, rs, 0, KEY);
            Arrays.fill(re, (byte) 0);
            throw ex;
        } finally {
            ss.forgetMark();
            Arrays.fill(dh, (byte) 0);
        }
    }

    /**
     * The other side's static public key: for the initiator the one it was given, for the
     * responder the one learnt from message 1.
     *
     * @throws IllegalStateException on a responder that has not read message 1 yet
     */
    public Key remoteStaticKey() {
        if (!initiator && step == READ_1) {
            throw new IllegalStateException("the responder learns the remote static key from message 1");
        }
        return Key.fromBytes(rs);
    }

    /**
     * Copies the other side's static public key (see {@link #remoteStaticKey()}) to {@code out}
     * at {@code offset}, without allocating.
     *
     * @throws IllegalStateException on a responder that has not read message 1 yet
     */
    public void copyRemoteStaticKey(byte[] out, int offset) {
        if (!initiator && step == READ_1) {
            throw new IllegalStateException("the responder learns the remote static key from message 1");
        }
        System.arraycopy(rs, 0, out, offset, KEY);
    }

    /** Whether both messages have been written or read, so that {@link #split()} may be called. */
    public boolean isComplete() {
        return step == COMPLETE;
    }

    /** Whether this side is the initiator (client). */
    public boolean isInitiator() {
        return initiator;
    }

    /**
     * The transport keys, once the handshake is complete. The initiator sends with Split()'s first
     * key and receives with the second; the responder the other way round. May be called once;
     * all handshake secrets are zeroed afterwards (the static key pair is the caller's).
     *
     * @throws IllegalStateException if the handshake is not complete or was already split
     */
    public TransportKeys split() {
        if (step != COMPLETE) {
            throw new IllegalStateException("cannot split a handshake that is not complete (" + stepName() + ")");
        }
        CipherState[] keys = ss.split();
        ss.destroy();
        step = SPLIT;
        return initiator ? new TransportKeys(keys[0], keys[1]) : new TransportKeys(keys[1], keys[0]);
    }

    /** Noise's handshake hash h so far: a value both sides share, usable for channel binding. */
    public byte[] handshakeHash() {
        return ss.h.clone();
    }

    @Override
    public String toString() {
        return "NoiseHandshake[" + (initiator ? "initiator" : "responder") + ", " + stepName() + "]";
    }

    private void wipeEphemeral() {
        Arrays.fill(e, (byte) 0);
    }

    private void dhOrFail(byte[] priv, byte[] pub) {
        if (!X25519.agree(priv, 0, pub, 0, dh, 0)) {
            // Only reachable through keys checked on arrival, so this is a bug, not bad input.
            throw new IllegalStateException("all-zero Diffie-Hellman result");
        }
    }

    private void dhOrThrow(byte[] priv, byte[] pub) throws HandshakeException {
        if (!X25519.agree(priv, 0, pub, 0, dh, 0)) {
            throw new HandshakeException(HandshakeException.Reason.INVALID_KEY,
                    "received public key is a low-order point");
        }
    }

    private void decryptOrThrow(byte[] in, int offset, int length, byte[] out, int outOffset)
            throws HandshakeException {
        if (ss.decryptAndHash(in, offset, length, out, outOffset) < 0) {
            throw new HandshakeException(HandshakeException.Reason.DECRYPTION_FAILED,
                    "handshake message does not authenticate (forged, corrupted, or wrong keys)");
        }
    }

    private String stepName() {
        switch (step) {
            case WRITE_1: return "expecting to write message 1";
            case READ_1: return "expecting to read message 1";
            case WRITE_2: return "expecting to write message 2";
            case READ_2: return "expecting to read message 2";
            case COMPLETE: return "complete";
            default: return "split";
        }
    }
}
