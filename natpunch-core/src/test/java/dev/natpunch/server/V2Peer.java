package dev.natpunch.server;

import dev.natpunch.crypto.HandshakeException;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.crypto.TransportKeys;
import dev.natpunch.protocol.LookupRequest;
import dev.natpunch.protocol.LookupResponse;
import dev.natpunch.protocol.Wire;
import dev.natpunch.protocol.v2.Capabilities;
import dev.natpunch.protocol.v2.Sealed;
import dev.natpunch.protocol.v2.V2Handshake;
import dev.natpunch.protocol.v2.V2Messages;
import dev.natpunch.protocol.v2.V2Rejection;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;

/**
 * A test-side version 2 client built from the real codecs ({@code protocol.v2}) and Noise, one
 * datagram at a time, so that tests see exactly what the server sends and can hand-craft,
 * replay and pad what they send. It binds the loopback address of the server's family.
 */
final class V2Peer implements AutoCloseable {
    final KeyPair keys;
    final Key serverKey;
    DatagramChannel channel;
    private final java.util.List<DatagramChannel> channels = new java.util.ArrayList<>();
    InetSocketAddress server;
    /** Where the last received datagram came from. */
    InetSocketAddress lastFrom;
    int index;
    TransportKeys transport;
    long counter;
    /** The server's capability block from the last handshake, or null when it answered as version 1. */
    Capabilities answer;
    int lastResponseLength;
    byte[] lastSent;

    V2Peer(KeyPair keys, Key serverKey, InetSocketAddress server) throws IOException {
        this.keys = keys;
        this.serverKey = serverKey;
        this.server = server;
        this.channel = open(server);
    }

    private DatagramChannel open(InetSocketAddress to) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        channels.add(ch);
        ch.bind(new InetSocketAddress(to.getAddress() instanceof Inet6Address
                ? InetAddress.getByName("::1") : InetAddress.getLoopbackAddress(), 0));
        ch.socket().setSoTimeout(2000);
        return ch;
    }

    /**
     * Talks to {@code to} from now on, from a new socket on the loopback address of its family
     * (the session stays: sessions are found by index on every server socket).
     */
    void moveTo(InetSocketAddress to) throws IOException {
        channel = open(to);
        server = to;
    }

    /** Sends to {@code to} from the current socket without changing the default destination. */
    void sendTo(byte[] datagram, InetSocketAddress to) throws IOException {
        lastSent = datagram.clone();
        channel.send(ByteBuffer.wrap(datagram), to);
    }

    InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    /**
     * Handshakes with {@code offer} (null: a plain 109-byte message 1) and keeps the session.
     *
     * @return the server's capability block, or null for a version 1 answer
     */
    Capabilities handshake(int proposal, long timestamp, Capabilities offer) throws IOException {
        return handshake(proposal, timestamp, offer, 0);
    }

    /** Like {@link #handshake(int, long, Capabilities)} with {@code extra} PAD bytes after the offer. */
    Capabilities handshake(int proposal, long timestamp, Capabilities offer, int extra) throws IOException {
        byte[] block = new byte[V2Wire.MAX_CAPABILITY_BLOCK + 8];
        int blen = offer == null ? 0 : offer.encode(block, 0);
        if (extra > 0) {
            block[blen] = V2Wire.TLV_PAD;
            block[blen + 1] = (byte) (extra - 2);
            blen += extra;
        }
        return handshakeWithBlock(proposal, timestamp, Arrays.copyOf(block, blen));
    }

    /** Handshakes with {@code block} as the raw capability block after the timestamp. */
    Capabilities handshakeWithBlock(int proposal, long timestamp, byte[] block) throws IOException {
        NoiseHandshake hs = NoiseHandshake.initiator(keys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
        byte[] payload = new byte[8 + block.length];
        Wire.writeLong(payload, 0, timestamp);
        System.arraycopy(block, 0, payload, 8, block.length);
        byte[] out = new byte[Wire.INITIATION_NOISE_OFFSET + 32 + 48 + payload.length + 16];
        out[0] = Wire.TYPE_HANDSHAKE_INITIATION;
        Wire.writeInt(out, Wire.INDEX_OFFSET, proposal);
        hs.writeMessage(payload, 0, payload.length, out, Wire.INITIATION_NOISE_OFFSET);
        send(out);
        byte[] response = receive();
        if (response == null) {
            throw new SocketTimeoutException("no handshake response");
        }
        if (V2Handshake.checkResponse(response, 0, response.length) != null) {
            throw new IOException("malformed " + response.length + "-byte response");
        }
        byte[] got = new byte[V2Wire.MAX_CAPABILITY_BLOCK];
        int n;
        try {
            n = V2Handshake.readResponse(hs, response, 0, response.length, got);
        } catch (HandshakeException e) {
            throw new IOException(e);
        }
        lastResponseLength = response.length;
        index = Wire.readInt(response, Wire.INDEX_OFFSET);
        transport = hs.split();
        counter = 0;
        if (n == 0) {
            answer = null;
        } else {
            V2Rejection r = Capabilities.check(got, 0, n, true);
            if (r != null) {
                throw new IOException("invalid capability block: " + r);
            }
            answer = Capabilities.read(got, 0, n, true);
        }
        return answer;
    }

    /** Seals a plaintext with the next counter, padded to {@code padTo} bytes (0: none). */
    byte[] seal(byte[] plain, int plen, int padTo) {
        byte[] p = Arrays.copyOf(plain, Math.max(plen, padTo));
        byte[] out = new byte[V2Wire.MAX_DATAGRAM];
        int n = Sealed.seal(transport.sender(), V2Wire.TYPE_SEALED_TO_SERVER, index, counter++, p, 0, plen, padTo,
                out, 0);
        return Arrays.copyOf(out, n);
    }

    /** Sends a sealed request and returns the opened, checked answer, or null if none came. */
    byte[] request(byte[] plain, int plen, int padTo) throws IOException {
        send(seal(plain, plen, padTo));
        return open(receive());
    }

    /** Opens a type 5 datagram of this session and checks it, or returns null for null. */
    byte[] open(byte[] datagram) throws IOException {
        if (datagram == null) {
            return null;
        }
        if (Sealed.check(datagram, 0, datagram.length, false) != null) {
            throw new IOException("not a sealed answer: " + datagram.length + " bytes, type " + datagram[0]);
        }
        if (Sealed.sessionIndex(datagram, 0) != index) {
            throw new IOException("answer for another session");
        }
        byte[] plain = new byte[datagram.length];
        int n = Sealed.open(transport.receiver(), datagram, 0, datagram.length, plain, 0);
        if (n < 0) {
            throw new IOException("answer does not authenticate");
        }
        V2Rejection r = V2Messages.checkToClient(plain, 0, n);
        if (r != null) {
            throw new IOException("malformed answer: " + r);
        }
        return Arrays.copyOf(plain, n);
    }

    /** A version 1 lookup (type 3) on this session; the answer's datagram, or null. */
    byte[] lookupV1(Key peer) throws IOException {
        byte[] out = new byte[Wire.LOOKUP_REQUEST_LENGTH];
        LookupRequest.encode(transport.sender(), index, counter++, keys.publicKey(), peer, new byte[64], out, 0);
        send(out);
        return receive();
    }

    /** Opens a type 3 answer: -1 if it does not authenticate, else its plaintext length (0 or 6). */
    int openV1(byte[] answer, byte[] plain) {
        return LookupResponse.open(transport.receiver(), answer, 0, answer.length, plain);
    }

    void send(byte[] datagram) throws IOException {
        lastSent = datagram.clone();
        channel.send(ByteBuffer.wrap(datagram), server);
    }

    /** The next datagram, or null after the socket timeout. */
    byte[] receive() throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        try {
            channel.socket().receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        lastFrom = (InetSocketAddress) p.getSocketAddress();
        return Arrays.copyOf(p.getData(), p.getLength());
    }

    void setReceiveTimeout(int millis) throws IOException {
        channel.socket().setSoTimeout(millis);
    }

    @Override
    public void close() throws IOException {
        for (DatagramChannel ch : channels) {
            ch.close();
        }
    }
}
