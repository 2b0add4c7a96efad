package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The text of the cross-platform userspace API (https://www.wireguard.com/xplatform/):
 * requests and reply parsing, no I/O.
 */
final class UapiProtocol {
    static final String GET_REQUEST = "get=1\n\n";

    private UapiProtocol() {}

    static String setRequest(List<PeerUpdate> updates) {
        StringBuilder sb = new StringBuilder("set=1\n");
        for (PeerUpdate update : updates) {
            sb.append("public_key=").append(update.publicKey().toHex()).append('\n');
            sb.append("update_only=true\n");
            update.endpoint().ifPresent(e -> sb.append("endpoint=").append(IpText.formatEndpoint(e)).append('\n'));
            update.persistentKeepaliveSeconds().ifPresent(
                    k -> sb.append("persistent_keepalive_interval=").append(k).append('\n'));
        }
        return sb.append('\n').toString();
    }

    /**
     * Parses the reply to {@code get=1}: {@code key=value} lines, the last one {@code errno=N}.
     * Unknown keys are skipped so that newer daemons still work.
     */
    static Device parseGet(String interfaceName, String reply) throws WireguardException {
        List<String> lines = lines(reply);
        checkErrno(interfaceName, lines, "reading");
        Key privateKey = null;
        int listenPort = 0;
        int fwmark = 0;
        List<Peer> peers = new ArrayList<>();
        PeerFields peer = null;
        for (String line : lines.subList(0, lines.size() - 1)) {
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw protocol(interfaceName, "a line without key=value: '" + abbreviate(line) + "'", null);
            }
            String key = line.substring(0, eq);
            String value = line.substring(eq + 1);
            try {
                if (key.equals("public_key")) {
                    if (peer != null) {
                        peers.add(peer.toPeer());
                    }
                    peer = new PeerFields(Key.fromHex(value));
                } else if (peer == null) {
                    switch (key) {
                        case "private_key":
                            Key k = Key.fromHex(value);
                            privateKey = k.isZero() ? null : k;
                            break;
                        case "listen_port":
                            listenPort = parseUnsigned(value, 65535);
                            break;
                        case "fwmark":
                            fwmark = (int) parseUnsignedLong(value, 0xffffffffL);
                            break;
                        default:
                            break;
                    }
                } else {
                    switch (key) {
                        case "endpoint":
                            peer.endpoint = IpText.parseEndpoint(value);
                            break;
                        case "last_handshake_time_sec":
                            peer.handshakeSec = parseUnsignedLong(value, Long.MAX_VALUE);
                            break;
                        case "last_handshake_time_nsec":
                            peer.handshakeNsec = parseUnsignedLong(value, 999_999_999L);
                            break;
                        case "tx_bytes":
                            peer.tx = parseUnsignedLong(value, Long.MAX_VALUE);
                            break;
                        case "rx_bytes":
                            peer.rx = parseUnsignedLong(value, Long.MAX_VALUE);
                            break;
                        case "persistent_keepalive_interval":
                            peer.keepalive = parseUnsigned(value, 65535);
                            break;
                        case "allowed_ip":
                            peer.allowedIps.add(AllowedIp.parse(value));
                            break;
                        default:
                            break;
                    }
                }
            } catch (IllegalArgumentException e) {
                // Never quote a private key, even a malformed one: the message may reach a log.
                String shown = key.equals("private_key") ? "private_key=(hidden)" : abbreviate(line);
                throw protocol(interfaceName, "bad value in '" + shown + "': " + e.getMessage(), e);
            }
        }
        if (peer != null) {
            peers.add(peer.toPeer());
        }
        Key publicKey = privateKey == null ? null : KeyPair.fromPrivateKey(privateKey).publicKey();
        return new Device(interfaceName, publicKey, privateKey, listenPort, fwmark, peers);
    }

    /** Checks the reply to {@code set=1}: exactly {@code errno=0}. */
    static void checkSetReply(String interfaceName, String reply) throws WireguardException {
        List<String> lines = lines(reply);
        checkErrno(interfaceName, lines, "changing");
        if (lines.size() != 1) {
            throw protocol(interfaceName, "unexpected lines before errno in the reply to set", null);
        }
    }

    private static void checkErrno(String interfaceName, List<String> lines, String doing) throws WireguardException {
        if (lines.isEmpty() || !lines.get(lines.size() - 1).startsWith("errno=")) {
            throw protocol(interfaceName, "the reply does not end with errno=N", null);
        }
        String value = lines.get(lines.size() - 1).substring("errno=".length());
        long errno;
        try {
            errno = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw protocol(interfaceName, "bad errno value '" + abbreviate(value) + "'", e);
        }
        if (errno == 0) {
            return;
        }
        long positive = Math.abs(errno);
        if (positive == 1 || positive == 13) {
            throw new WireguardException(WireguardException.Kind.PERMISSION_DENIED, "the WireGuard daemon of '"
                    + interfaceName + "' refused " + doing + " it (errno " + errno + "); " + Interfaces.PRIVILEGE_HINT);
        }
        throw new WireguardException(WireguardException.Kind.PROTOCOL, "the WireGuard daemon of '" + interfaceName
                + "' failed " + doing + " the device: errno " + errno + " (" + errnoName(positive)
                + "); its log says why");
    }

    private static String errnoName(long errno) {
        switch ((int) errno) {
            case 5:
                return "EIO";
            case 22:
                return "EINVAL, a value was rejected";
            case 71:
                return "EPROTO, the request was malformed";
            case 98:
                return "EADDRINUSE, the listen port is taken";
            default:
                return "unknown error";
        }
    }

    /** The reply without its terminating blank line, split into lines. */
    private static List<String> lines(String reply) {
        String body = reply.endsWith("\n\n") ? reply.substring(0, reply.length() - 2) : reply;
        List<String> out = new ArrayList<>();
        if (body.isEmpty()) {
            return out;
        }
        for (String l : body.split("\n", -1)) {
            out.add(l);
        }
        return out;
    }

    private static int parseUnsigned(String value, int max) {
        return (int) parseUnsignedLong(value, max);
    }

    private static long parseUnsignedLong(String value, long max) {
        if (value.isEmpty() || value.length() > 19 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("not a number: '" + abbreviate(value) + "'");
        }
        long v = Long.parseLong(value);
        if (v > max) {
            throw new IllegalArgumentException(value + " is larger than " + max);
        }
        return v;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    private static WireguardException protocol(String interfaceName, String what, Throwable cause) {
        return new WireguardException(WireguardException.Kind.PROTOCOL,
                "unexpected reply from the WireGuard daemon of '" + interfaceName + "': " + what, cause);
    }

    /** The fields of one peer while its lines are being read. */
    private static final class PeerFields {
        final Key publicKey;
        InetSocketAddress endpoint;
        final List<AllowedIp> allowedIps = new ArrayList<>();
        int keepalive;
        long handshakeSec;
        long handshakeNsec;
        long rx;
        long tx;

        PeerFields(Key publicKey) {
            this.publicKey = publicKey;
        }

        Peer toPeer() {
            Instant handshake = handshakeSec == 0 && handshakeNsec == 0 ? null
                    : Instant.ofEpochSecond(handshakeSec, handshakeNsec);
            return new Peer(publicKey, endpoint, allowedIps, keepalive, handshake, rx, tx);
        }
    }
}
