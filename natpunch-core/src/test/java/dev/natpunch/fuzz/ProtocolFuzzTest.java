package dev.natpunch.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Messages;
import dev.natpunch.protocol.Rejection;
import dev.natpunch.protocol.Wire;
import java.util.Arrays;

/**
 * Coverage-guided fuzz targets for every protocol codec. Each target's seeds (valid messages of
 * every type, made with {@link FuzzKeys}' fixed keys) live in
 * {@code src/test/resources/dev/natpunch/fuzz/ProtocolFuzzTestInputs/<method>/}; see
 * docs/SECURITY.md for the fuzzing command.
 *
 * <p>Beyond "throws nothing unexpected", each target checks that nothing the fuzzer makes is
 * accepted unless it is byte-for-byte a message the legitimate sender would have produced.
 */
class ProtocolFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void checkToServer(byte[] d) {
        Rejection r = Messages.checkToServer(d, 0, d.length);
        if (r == null) {
            assertTrue(d[0] == Wire.TYPE_HANDSHAKE_INITIATION && d.length == Wire.INITIATION_LENGTH
                    || d[0] == Wire.TYPE_DATA && d.length == Wire.LOOKUP_REQUEST_LENGTH);
        }
        if (d.length > 1) {
            // The same bytes behind a one-byte offset must get the same verdict as the tail alone.
            assertEquals(Messages.checkToServer(Arrays.copyOfRange(d, 1, d.length), 0, d.length - 1),
                    Messages.checkToServer(d, 1, d.length - 1));
        }
    }

    @FuzzTest(maxDuration = "60s")
    void checkToClient(byte[] d) {
        Rejection r = Messages.checkToClient(d, 0, d.length);
        if (r == null) {
            assertTrue(d[0] == Wire.TYPE_HANDSHAKE_RESPONSE && d.length == Wire.RESPONSE_LENGTH
                    || d[0] == Wire.TYPE_DATA && (d.length == Wire.LOOKUP_RESPONSE_FOUND_LENGTH
                    || d.length == Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH));
        }
        if (d.length > 1) {
            assertEquals(Messages.checkToClient(Arrays.copyOfRange(d, 1, d.length), 0, d.length - 1),
                    Messages.checkToClient(d, 1, d.length - 1));
        }
    }

    /** The server's reading of message 1: only a client holding a private key can make one that authenticates. */
    @FuzzTest(maxDuration = "60s")
    void handshakeInitiationRead(byte[] d) {
        if (Messages.checkToServer(d, 0, d.length) != null || d[0] != Wire.TYPE_HANDSHAKE_INITIATION) {
            return;
        }
        NoiseHandshake responder = NoiseHandshake.responder(FuzzKeys.SERVER, NoiseHandshake.NATPUNCH_PROLOGUE);
        long timestamp;
        try {
            timestamp = HandshakeInitiation.read(responder, d, 0, new byte[Wire.INITIATION_NOISE_LENGTH]);
        } catch (HandshakeException e) {
            return;
        }
        // The seeds are the only authentic initiations the fuzzer has: it can change the
        // (unauthenticated) index, nothing else.
        Key client = responder.remoteStaticKey();
        assertTrue(client.equals(FuzzKeys.CLIENT.publicKey()) || client.equals(FuzzKeys.PEER.publicKey()),
                "an initiation authenticated a key nobody holds: " + client);
        assertEquals(FuzzKeys.TIMESTAMP, timestamp);
        byte[] again = FuzzKeys.initiation(client.equals(FuzzKeys.CLIENT.publicKey()) ? FuzzKeys.CLIENT : FuzzKeys.PEER,
                HandshakeInitiation.proposedIndex(d, 0));
        assertArrayEquals(again, d);
    }

    /** The client's reading of message 2, for the seeds' fixed message 1. */
    @FuzzTest(maxDuration = "60s")
    void handshakeResponseRead(byte[] d) {
        if (Messages.checkToClient(d, 0, d.length) != null || d[0] != Wire.TYPE_HANDSHAKE_RESPONSE) {
            return;
        }
        NoiseHandshake initiator = FuzzKeys.initiatorAfterMessage1();
        try {
            HandshakeResponse.read(initiator, d, 0, new byte[Wire.RESPONSE_LENGTH]);
        } catch (HandshakeException e) {
            return;
        }
        byte[] genuine = FuzzKeys.response(HandshakeResponse.assignedIndex(d, 0));
        assertArrayEquals(genuine, d, "a forged handshake response authenticated");
        TransportKeys keys = initiator.split();
        keys.destroy();
    }

    /** The server's opening of a lookup request under the seeds' session keys. */
    @FuzzTest(maxDuration = "60s")
    void lookupRequestOpen(byte[] d) {
        if (Messages.checkToServer(d, 0, d.length) != null || d[0] != Wire.TYPE_DATA) {
            return;
        }
        byte[] plain = new byte[Wire.LOOKUP_PLAINTEXT_LENGTH];
        if (!LookupRequest.open(FuzzKeys.SERVER_SESSION.receiver(), d, 0, plain, 0)) {
            return;
        }
        byte[] again = new byte[Wire.LOOKUP_REQUEST_LENGTH];
        LookupRequest.encode(FuzzKeys.CLIENT_SESSION.sender(), LookupRequest.sessionIndex(d, 0),
                LookupRequest.counter(d, 0), Key.fromBytes(Arrays.copyOfRange(plain, 0, 32)),
                Key.fromBytes(Arrays.copyOfRange(plain, 32, 64)), new byte[64], again, 0);
        assertArrayEquals(again, d, "a forged lookup request authenticated");
    }

    /** The client's opening of a lookup response under the seeds' session keys. */
    @FuzzTest(maxDuration = "60s")
    void lookupResponseOpen(byte[] d) {
        if (Messages.checkToClient(d, 0, d.length) != null || d[0] != Wire.TYPE_DATA) {
            return;
        }
        byte[] plain = new byte[Wire.ENDPOINT_PLAINTEXT_LENGTH];
        int n = LookupResponse.open(FuzzKeys.CLIENT_SESSION.receiver(), d, 0, d.length, plain);
        if (n < 0) {
            return;
        }
        byte[] again = new byte[Wire.LOOKUP_RESPONSE_FOUND_LENGTH];
        int len = n == Wire.ENDPOINT_PLAINTEXT_LENGTH
                ? LookupResponse.encodeFound(FuzzKeys.SERVER_SESSION.sender(), LookupResponse.counter(d, 0),
                        Wire.readInt(plain, 0), Wire.readUnsignedShort(plain, 4), new byte[6], again, 0)
                : LookupResponse.encodeNotFound(FuzzKeys.SERVER_SESSION.sender(), LookupResponse.counter(d, 0), again, 0);
        assertEquals(d.length, len);
        assertArrayEquals(Arrays.copyOf(again, len), d, "a forged lookup response authenticated");
    }
}
