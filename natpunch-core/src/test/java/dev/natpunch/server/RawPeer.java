package dev.natpunch.server;

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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.Optional;

/**
 * A test client that builds every datagram itself, so tests can capture, replay, corrupt and
 * hand-craft them (which {@link dev.natpunch.client.RendezvousClient} rightly never does).
 */
final class RawPeer implements AutoCloseable {
    final KeyPair keys;
    final Key serverKey;
    final DatagramChannel channel;
    final InetSocketAddress server;
    int index;
    TransportKeys transport;
    long counter;
    byte[] lastSent;

    RawPeer(KeyPair keys, Key serverKey, InetSocketAddress server) throws IOException {
        this.keys = keys;
        this.serverKey = serverKey;
        this.server = server;
        this.channel = DatagramChannel.open();
        channel.bind(new InetSocketAddress(server.getAddress() instanceof java.net.Inet6Address
                ? InetAddress.getByName("::1") : InetAddress.getLoopbackAddress(), 0));
        channel.socket().setSoTimeout(2000);
    }

    int localPort() throws IOException {
        return ((InetSocketAddress) channel.getLocalAddress()).getPort();
    }

    byte[] initiation(int proposal, long timestamp) {
        NoiseHandshake hs = NoiseHandshake.initiator(keys, serverKey, NoiseHandshake.NATPUNCH_PROLOGUE);
        pending = hs;
        byte[] out = new byte[Wire.INITIATION_LENGTH];
        HandshakeInitiation.encode(hs, proposal, timestamp, new byte[8], out, 0);
        return out;
    }

    private NoiseHandshake pending;

    /** Handshakes and returns the index the server assigned. */
    int handshake(int proposal, long timestamp) throws IOException {
        send(initiation(proposal, timestamp));
        byte[] answer = receive();
        if (answer == null) {
            throw new SocketTimeoutException("no handshake response");
        }
        if (answer.length != Wire.RESPONSE_LENGTH) {
            throw new IOException("unexpected " + answer.length + "-byte answer");
        }
        try {
            HandshakeResponse.read(pending, answer, 0, new byte[64]);
        } catch (HandshakeException e) {
            throw new IOException(e);
        }
        index = HandshakeResponse.assignedIndex(answer, 0);
        transport = pending.split();
        counter = 0;
        return index;
    }

    byte[] lookupRequest(Key own, Key peer) {
        byte[] out = new byte[Wire.LOOKUP_REQUEST_LENGTH];
        LookupRequest.encode(transport.sender(), index, counter++, own, peer, new byte[64], out, 0);
        return out;
    }

    /** Sends a lookup and decodes the answer; null if none came. */
    Optional<InetSocketAddress> lookup(Key peer) throws IOException {
        send(lookupRequest(keys.publicKey(), peer));
        return decode(receive());
    }

    Optional<InetSocketAddress> decode(byte[] answer) throws IOException {
        if (answer == null) {
            return null;
        }
        byte[] plain = new byte[6];
        int n = LookupResponse.open(transport.receiver(), answer, 0, answer.length, plain);
        if (n < 0) {
            throw new IOException("answer does not authenticate");
        }
        if (n == 0) {
            return Optional.empty();
        }
        return Optional.of(new InetSocketAddress(InetAddress.getByAddress(Arrays.copyOf(plain, 4)),
                Wire.readUnsignedShort(plain, 4)));
    }

    void send(byte[] datagram) throws IOException {
        lastSent = datagram.clone();
        channel.send(ByteBuffer.wrap(datagram), server);
    }

    /** The next datagram, or null after the socket timeout. */
    byte[] receive() throws IOException {
        java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
        try {
            channel.socket().receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return Arrays.copyOf(p.getData(), p.getLength());
    }

    void setReceiveTimeout(int millis) throws IOException {
        channel.socket().setSoTimeout(millis);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
