package dev.natpunch.bench.crypto;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.StaticDhCache;
import dev.natpunch.crypto.TransportKeys;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The rendezvous Noise IK handshake with natpunch's sizes (8-byte payload in message 1, empty
 * message 2), in handshakes per second: both sides, the responder alone as a new object per
 * handshake and as the server runs it (one reused responder per thread, with and without the
 * remembered static-static Diffie-Hellman of a known client), and a forged message 1.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
public class HandshakeBenchmark {
    private KeyPair server;
    private KeyPair client;
    private final byte[] timestamp = new byte[8];
    private final byte[] msg1 = new byte[104];
    private final byte[] msg2 = new byte[48];
    private final byte[] payload = new byte[8];
    private final byte[] empty = new byte[0];
    private byte[] recordedMsg1;
    private byte[] forgedMsg1;
    private NoiseHandshake reused;
    private StaticDhCache known;

    @Setup
    public void setup() {
        server = KeyPair.generate();
        client = KeyPair.generate();
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        recordedMsg1 = new byte[104];
        init.writeMessage(timestamp, 0, 8, recordedMsg1, 0);
        forgedMsg1 = recordedMsg1.clone();
        forgedMsg1[40] ^= 1;
        reused = NoiseHandshake.responder(server, NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] ss = new byte[32];
        if (!org.bouncycastle.math.ec.rfc7748.X25519.calculateAgreement(server.privateKey().toBytes(), 0,
                client.publicKey().toBytes(), 0, ss, 0)) {
            throw new IllegalStateException("low-order client key");
        }
        known = new StaticDhCache() {
            @Override
            public boolean find(byte[] remoteStatic, int offset, byte[] out) {
                System.arraycopy(ss, 0, out, 0, 32);
                return true;
            }

            @Override
            public void offer(byte[] remoteStatic, int offset, byte[] value) {
                throw new IllegalStateException("a remembered value was offered again");
            }
        };
    }

    /** Both sides: initiator writes message 1, responder reads it and writes message 2, initiator reads it; both split. */
    @Benchmark
    public TransportKeys fullHandshake() throws HandshakeException {
        NoiseHandshake init = NoiseHandshake.initiator(client, server.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE);
        NoiseHandshake resp = NoiseHandshake.responder(server, NoiseHandshake.NATPUNCH_PROLOGUE);
        init.writeMessage(timestamp, 0, 8, msg1, 0);
        resp.readMessage(msg1, 0, 104, payload, 0);
        resp.writeMessage(empty, 0, 0, msg2, 0);
        init.readMessage(msg2, 0, 48, empty, 0);
        resp.split();
        return init.split();
    }

    /** The server's share: read message 1, write message 2, split. */
    @Benchmark
    public TransportKeys responderOnly() throws HandshakeException {
        NoiseHandshake resp = NoiseHandshake.responder(server, NoiseHandshake.NATPUNCH_PROLOGUE);
        resp.readMessage(recordedMsg1, 0, 104, payload, 0);
        resp.writeMessage(empty, 0, 0, msg2, 0);
        return resp.split();
    }

    /** The server's share as the server runs it: one responder per thread, reset for each message 1. */
    @Benchmark
    public TransportKeys responderReused() throws HandshakeException {
        reused.reset();
        reused.readMessage(recordedMsg1, 0, 104, payload, 0, null);
        reused.writeMessage(empty, 0, 0, msg2, 0);
        return reused.split();
    }

    /**
     * {@link #responderReused} for an initiator whose static-static Diffie-Hellman the server
     * remembers: one scalar multiplication less.
     */
    @Benchmark
    public TransportKeys responderReusedKnownInitiator() throws HandshakeException {
        reused.reset();
        reused.readMessage(recordedMsg1, 0, 104, payload, 0, known);
        reused.writeMessage(empty, 0, 0, msg2, 0);
        return reused.split();
    }

    /** What a forged message 1 costs the server before it is dropped (one Diffie-Hellman). */
    @Benchmark
    public HandshakeException.Reason responderRejectsForgedMessage1() {
        NoiseHandshake resp = NoiseHandshake.responder(server, NoiseHandshake.NATPUNCH_PROLOGUE);
        try {
            resp.readMessage(forgedMsg1, 0, 104, payload, 0);
            throw new IllegalStateException("forged message accepted");
        } catch (HandshakeException e) {
            return e.reason();
        }
    }
}
