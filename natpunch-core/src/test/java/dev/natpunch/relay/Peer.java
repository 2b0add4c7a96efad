package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.V2Wire;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Arrays;

/** A relay client for tests: a key and a real UDP socket on loopback standing in for WireGuard's. */
final class Peer implements AutoCloseable {
    final Key key = KeyPair.generate().publicKey();
    final DatagramSocket socket;
    private final byte[] receiveBuffer = new byte[65_536];

    Peer(InetAddress loopback) throws IOException {
        socket = new DatagramSocket(new InetSocketAddress(loopback, 0));
        socket.setSoTimeout(5000);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    void bind(AllocationResult ready) throws IOException {
        bind(ready.endpoint().orElseThrow(), ready.token());
    }

    void bind(InetSocketAddress relay, byte[] token) throws IOException {
        send(relay, bindDatagram(token));
    }

    static byte[] bindDatagram(byte[] token) {
        byte[] d = new byte[V2Wire.RELAY_BIND_LENGTH];
        RelayControl.writeBind(d, 0, token, 0);
        return d;
    }

    void send(InetSocketAddress to, byte[] data) throws IOException {
        socket.send(new DatagramPacket(data, data.length, to));
    }

    /** The next datagram, with its source; fails the test after 5 s of silence. */
    Received receive() throws IOException {
        DatagramPacket p = new DatagramPacket(receiveBuffer, receiveBuffer.length);
        socket.receive(p);
        return new Received(Arrays.copyOf(p.getData(), p.getLength()), (InetSocketAddress) p.getSocketAddress());
    }

    /** True if nothing arrives within {@code millis}. */
    boolean silentFor(int millis) throws IOException {
        int before = socket.getSoTimeout();
        socket.setSoTimeout(millis);
        try {
            socket.receive(new DatagramPacket(receiveBuffer, receiveBuffer.length));
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(before);
        }
    }

    @Override
    public void close() {
        socket.close();
    }

    record Received(byte[] data, InetSocketAddress from) {
    }
}
