package dev.natpunch.relay;

import dev.natpunch.crypto.Key;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.security.SecureRandom;

/**
 * A ready pair: two ports, one facing each client. The forwarding thread that serves both ports
 * is the only one to touch the bucket; the control plane (allocate, release, sweep) changes
 * tokens under each side's monitor and reads the activity time.
 */
final class Allocation {
    final UdpRelay.PairKey pair;
    final Side first;
    final Side second;
    /** Null without a bandwidth limit. */
    final TokenBucket bucket;
    final Forwarder forwarder;
    /** Last forwarded datagram, bind or refresh. */
    volatile long lastActivityMillis;
    private boolean closed;

    Allocation(UdpRelay.PairKey pair, Key firstOwner, DatagramChannel firstChannel, InetSocketAddress firstEndpoint,
               Key secondOwner, DatagramChannel secondChannel, InetSocketAddress secondEndpoint,
               TokenBucket bucket, Forwarder forwarder, SecureRandom random, long nowMillis) {
        this.pair = pair;
        this.first = new Side(this, firstOwner, firstChannel, firstEndpoint, random);
        this.second = new Side(this, secondOwner, secondChannel, secondEndpoint, random);
        this.bucket = bucket;
        this.forwarder = forwarder;
        this.lastActivityMillis = nowMillis;
    }

    /** The side facing {@code client}, which must be one of the pair. */
    Side side(Key client) {
        return first.owner.equals(client) ? first : second;
    }

    void touch(long nowMillis) {
        if (lastActivityMillis != nowMillis) {
            lastActivityMillis = nowMillis;
        }
    }

    /** Marks the allocation ended; returns false if it already was. */
    synchronized boolean end() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    void closeChannels() {
        first.closeChannel();
        second.closeChannel();
    }

    /** One client's port of the pair. */
    static final class Side {
        final Allocation allocation;
        final Key owner;
        final DatagramChannel channel;
        /** What the client is told: the advertised address and this side's port. */
        final InetSocketAddress endpoint;
        final int port;
        /** Where the client's datagrams come from, learned from its bind; null before. */
        volatile InetSocketAddress learned;
        private final SecureRandom random;
        private final byte[] token = new byte[AllocationResult.TOKEN_LENGTH];
        private boolean tokenUsed;

        Side(Allocation allocation, Key owner, DatagramChannel channel, InetSocketAddress endpoint, SecureRandom random) {
            this.allocation = allocation;
            this.owner = owner;
            this.channel = channel;
            this.endpoint = endpoint;
            this.port = endpoint.getPort();
            this.random = random;
            random.nextBytes(token);
        }

        Side other() {
            return this == allocation.first ? allocation.second : allocation.first;
        }

        /** The token to hand out: the current one, or a fresh one once the current one has bound. */
        synchronized byte[] currentToken() {
            if (tokenUsed) {
                random.nextBytes(token);
                tokenUsed = false;
            }
            return token.clone();
        }

        /**
         * Binds {@code from} if the 16 bytes at {@code candidate[off..]} are the current, unused
         * token (compared in constant time).
         */
        synchronized boolean bind(byte[] candidate, int off, InetSocketAddress from) {
            int diff = 0;
            for (int i = 0; i < token.length; i++) {
                diff |= token[i] ^ candidate[off + i];
            }
            if (diff != 0 || tokenUsed) {
                return false;
            }
            tokenUsed = true;
            learned = from;
            return true;
        }

        private void closeChannel() {
            try {
                channel.close();
            } catch (IOException e) {
                // Closing a datagram channel has nothing to flush; the port is released either way.
            }
        }
    }
}
