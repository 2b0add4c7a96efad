package dev.natpunch.fuzz;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.HandshakeResponse;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Wire;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fixed keys and one fixed handshake (fixed ephemerals too), so that the seed corpora of the
 * protocol fuzz targets are valid, reproducible messages. {@link #main} rewrites those seeds.
 */
public final class FuzzKeys {
    public static final KeyPair SERVER = pair(0x10);
    public static final KeyPair CLIENT = pair(0x20);
    public static final KeyPair PEER = pair(0x30);
    private static final KeyPair SERVER_EPHEMERAL = pair(0x40);
    private static final KeyPair CLIENT_EPHEMERAL = pair(0x50);
    private static final KeyPair PEER_EPHEMERAL = pair(0x60);
    static final long TIMESTAMP = 1_764_000_000_000_000_000L;
    static final int PROPOSAL = 0x01020304;
    static final int ASSIGNED = 0x01020305;

    /** The two ends of the seeds' session: the client's and the server's transport keys. */
    static final TransportKeys CLIENT_SESSION;
    static final TransportKeys SERVER_SESSION;

    static {
        try {
            NoiseHandshake initiator = initiatorAfterMessage1();
            NoiseHandshake responder = NoiseHandshake.responder(SERVER, NoiseHandshake.NATPUNCH_PROLOGUE, SERVER_EPHEMERAL);
            byte[] m1 = initiation(CLIENT, PROPOSAL);
            HandshakeInitiation.read(responder, m1, 0, new byte[Wire.INITIATION_NOISE_LENGTH]);
            byte[] m2 = new byte[Wire.RESPONSE_LENGTH];
            HandshakeResponse.encode(responder, ASSIGNED, m2, 0);
            HandshakeResponse.read(initiator, m2, 0, new byte[Wire.RESPONSE_LENGTH]);
            SERVER_SESSION = responder.split();
            CLIENT_SESSION = initiator.split();
        } catch (HandshakeException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private FuzzKeys() {
    }

    private static KeyPair pair(int first) {
        byte[] b = new byte[Key.LENGTH];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (first + i);
        }
        return KeyPair.fromPrivateKey(Key.fromBytes(b));
    }

    /** Message 1 of {@code client} (CLIENT or PEER) to SERVER, with its fixed ephemeral and TIMESTAMP. */
    static byte[] initiation(KeyPair client, int proposal) {
        NoiseHandshake hs = NoiseHandshake.initiator(client, SERVER.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE,
                client.equals(CLIENT) ? CLIENT_EPHEMERAL : PEER_EPHEMERAL);
        byte[] out = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, proposal, TIMESTAMP, new byte[Wire.TIMESTAMP_LENGTH], out, 0);
        return out;
    }

    /** CLIENT's initiator state after writing its fixed message 1, waiting for message 2. */
    static NoiseHandshake initiatorAfterMessage1() {
        NoiseHandshake hs = NoiseHandshake.initiator(CLIENT, SERVER.publicKey(), NoiseHandshake.NATPUNCH_PROLOGUE,
                CLIENT_EPHEMERAL);
        HandshakeInitiation.encode(hs, PROPOSAL, TIMESTAMP, new byte[Wire.TIMESTAMP_LENGTH],
                new byte[Wire.INITIATION_LENGTH], 0);
        return hs;
    }

    /** SERVER's genuine answer to CLIENT's fixed message 1, with the given index. */
    static byte[] response(int index) {
        NoiseHandshake responder = NoiseHandshake.responder(SERVER, NoiseHandshake.NATPUNCH_PROLOGUE, SERVER_EPHEMERAL);
        try {
            HandshakeInitiation.read(responder, initiation(CLIENT, PROPOSAL), 0, new byte[Wire.INITIATION_NOISE_LENGTH]);
        } catch (HandshakeException e) {
            throw new IllegalStateException(e);
        }
        byte[] m2 = new byte[Wire.RESPONSE_LENGTH];
        HandshakeResponse.encode(responder, index, m2, 0);
        return m2;
    }

    static byte[] lookupRequest(long counter, Key peer) {
        byte[] out = new byte[Wire.LOOKUP_REQUEST_LENGTH];
        LookupRequest.encode(CLIENT_SESSION.sender(), ASSIGNED, counter, CLIENT.publicKey(), peer, new byte[64], out, 0);
        return out;
    }

    static byte[] lookupFound(long counter, int ipv4, int port) {
        byte[] out = new byte[Wire.LOOKUP_RESPONSE_FOUND_LENGTH];
        LookupResponse.encodeFound(SERVER_SESSION.sender(), counter, ipv4, port, new byte[6], out, 0);
        return out;
    }

    static byte[] lookupNotFound(long counter) {
        byte[] out = new byte[Wire.LOOKUP_RESPONSE_NOT_FOUND_LENGTH];
        LookupResponse.encodeNotFound(SERVER_SESSION.sender(), counter, out, 0);
        return out;
    }

    /**
     * Rewrites the seed corpora of the protocol-level fuzz targets: every message type, valid, plus
     * a few invalid ones. Run from the module directory:
     * {@code java -cp target/test-classes:target/classes:<deps> dev.natpunch.fuzz.FuzzKeys}.
     */
    public static void main(String[] args) {
        Path root = Path.of(args.length > 0 ? args[0] : "src/test/resources/dev/natpunch");
        byte[] m1 = initiation(CLIENT, PROPOSAL);
        byte[] m1peer = initiation(PEER, 7);
        byte[] m2 = response(ASSIGNED);
        byte[] req = lookupRequest(0, PEER.publicKey());
        byte[] reqSelf = lookupRequest(5, CLIENT.publicKey());
        byte[] found = lookupFound(0, 0xC6120001, 51820);
        byte[] notFound = lookupNotFound(1);
        byte[][] all = {m1, m1peer, m2, req, reqSelf, found, notFound, {}, {4}, Arrays.copyOf(m1, 110),
            Arrays.copyOf(req, 92), Arrays.copyOf(found, 28)};
        String[] names = {"initiation", "initiation-peer", "response", "lookup-request", "lookup-request-self",
            "lookup-found", "lookup-not-found", "empty", "type-4", "initiation-too-long", "lookup-too-short",
            "lookup-response-28"};
        for (String method : new String[] {"checkToServer", "checkToClient", "handshakeInitiationRead",
            "handshakeResponseRead", "lookupRequestOpen", "lookupResponseOpen"}) {
            write(root.resolve("fuzz/ProtocolFuzzTestInputs/" + method), names, all);
        }
        write(root.resolve("server/PacketHandlerFuzzTestInputs/singleDatagram"), names, all);
    }

    private static void write(Path dir, String[] names, byte[][] contents) {
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < names.length; i++) {
                Files.write(dir.resolve(names[i]), contents[i]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
