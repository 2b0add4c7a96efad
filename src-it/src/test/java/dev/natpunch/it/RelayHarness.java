package dev.natpunch.it;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import dev.natpunch.client.RendezvousClient;
import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.net.TransportFactory;
import dev.natpunch.net.UdpTransport;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.relay.AllocationResult;
import dev.natpunch.relay.Relay;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Programs the relay tests run inside lab namespaces: a relay with a fixed allocation and a
 * client's bind (for measurements without the rendezvous server), and a third party's tools.
 *
 * <ul>
 *   <li>{@code serve ADDRESS FIRST LAST KEY_A KEY_B BYTES_PER_SECOND}: a relay on ADDRESS with one
 *       allocation for the pair (both sides asked), printing {@code a IP:PORT TOKEN} and
 *       {@code b IP:PORT TOKEN}, then {@code forwarded N} every second until killed.
 *       BYTES_PER_SECOND 0 is no bandwidth limit.
 *   <li>{@code bind RELAY_IP:PORT LOCAL_PORT TOKEN}: sends the bind datagram to the relay from
 *       LOCAL_PORT, which WireGuard holds, through a raw socket, as the client does.
 *   <li>{@code send RELAY_IP:PORT HEX...}: sends each datagram from one ordinary UDP socket, as
 *       a third party would, then listens on that socket for 3 s and prints {@code received N}.
 *   <li>{@code sniff FIRST LAST}: an observer on the relay host's wire (a raw socket sees a copy of
 *       every UDP datagram arriving): prints {@code bind SOURCE RELAY_IP:PORT TOKEN} for every bind
 *       datagram to a port of FIRST..LAST, until killed.
 *   <li>{@code ask SERVER:PORT SERVER_KEY PEER_KEY...}: a client with a key of its own registers
 *       with the server and asks it three times, a second apart, for a relay to each peer;
 *       prints {@code PEER_KEY grant RELAY_IP:PORT} or {@code PEER_KEY none} for each answer.
 * </ul>
 */
public final class RelayHarness {
    private RelayHarness() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 7 && args[0].equals("serve")) {
            serve(args);
        } else if (args.length == 4 && args[0].equals("bind")) {
            bind(args);
        } else if (args.length >= 3 && args[0].equals("send")) {
            send(args);
        } else if (args.length == 3 && args[0].equals("sniff")) {
            sniff(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        } else if (args.length >= 4 && args[0].equals("ask")) {
            ask(args);
        } else {
            System.err.println("usage: serve ADDRESS FIRST LAST KEY_A KEY_B BYTES_PER_SECOND"
                    + " | bind RELAY_IP:PORT LOCAL_PORT TOKEN | send RELAY_IP:PORT HEX... | sniff FIRST LAST"
                    + " | ask SERVER:PORT SERVER_KEY PEER_KEY...");
            System.exit(2);
        }
    }

    private static void serve(String[] args) throws Exception {
        InetAddress address = InetAddress.getByName(args[1]);
        Key a = Key.fromBase64(args[4]);
        Key b = Key.fromBase64(args[5]);
        long rate = Long.parseLong(args[6]);
        try (Relay relay = Relay.builder().address(address)
                .portRange(Integer.parseInt(args[2]), Integer.parseInt(args[3]))
                .bandwidthLimit(rate, rate / 4)
                .build()) {
            relay.start();
            StandardProtocolFamily family = address instanceof java.net.Inet4Address
                    ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
            relay.allocate(a, b, family);
            print("b", relay.allocate(b, a, family));
            print("a", relay.allocate(a, b, family));
            while (true) {
                Thread.sleep(1000);
                System.out.println("forwarded " + relay.metrics().datagramsForwarded() + " " + relay.metrics());
                System.out.flush();
            }
        }
    }

    private static void print(String side, AllocationResult r) {
        InetSocketAddress e = r.endpoint().orElseThrow(() -> new IllegalStateException(side + ": " + r));
        System.out.println(side + " " + e.getAddress().getHostAddress() + ":" + e.getPort() + " "
                + HexFormat.of().formatHex(r.token()));
        System.out.flush();
    }

    private static InetSocketAddress endpoint(String hostPort) throws Exception {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(InetAddress.getByName(hostPort.substring(0, colon)),
                Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static void send(String[] args) throws Exception {
        InetSocketAddress relay = endpoint(args[1]);
        try (DatagramSocket socket = new DatagramSocket()) {
            for (int i = 2; i < args.length; i++) {
                byte[] d = HexFormat.of().parseHex(args[i]);
                socket.send(new DatagramPacket(d, d.length, relay));
            }
            int received = 0;
            long end = System.nanoTime() + 3_000_000_000L;
            byte[] buffer = new byte[65_536];
            while (System.nanoTime() < end) {
                socket.setSoTimeout((int) Math.max(1, (end - System.nanoTime()) / 1_000_000));
                try {
                    socket.receive(new DatagramPacket(buffer, buffer.length));
                    received++;
                } catch (SocketTimeoutException e) {
                    break;
                }
            }
            System.out.println("received " + received);
        }
    }

    /** The C library calls of {@link #sniff}. */
    interface Libc extends Library {
        int socket(int domain, int type, int protocol) throws LastErrorException;

        NativeLong recv(int fd, byte[] buffer, NativeLong length, int flags) throws LastErrorException;
    }

    private static void sniff(int first, int last) {
        Libc libc = Native.load("c", Libc.class);
        // AF_INET, SOCK_RAW, IPPROTO_UDP: each arriving IPv4 UDP datagram, IP header included.
        int fd = libc.socket(2, 3, 17);
        System.out.println("sniffing");
        System.out.flush();
        byte[] p = new byte[65_536];
        while (true) {
            int n = libc.recv(fd, p, new NativeLong(p.length), 0).intValue();
            int ihl = (p[0] & 0x0f) * 4;
            int port = (p[ihl + 2] & 0xff) << 8 | p[ihl + 3] & 0xff;
            int payload = ihl + 8;
            if (port < first || port > last || n - payload != V2Wire.RELAY_BIND_LENGTH || p[payload] != V2Wire.TYPE_RELAY_BIND) {
                continue;
            }
            int sourcePort = (p[ihl] & 0xff) << 8 | p[ihl + 1] & 0xff;
            System.out.println("bind " + ipv4(p, 12) + ":" + sourcePort + " " + ipv4(p, 16) + ":" + port + " "
                    + HexFormat.of().formatHex(p, payload + 4, payload + V2Wire.RELAY_BIND_LENGTH));
            System.out.flush();
        }
    }

    private static String ipv4(byte[] p, int at) {
        return (p[at] & 0xff) + "." + (p[at + 1] & 0xff) + "." + (p[at + 2] & 0xff) + "." + (p[at + 3] & 0xff);
    }

    private static void ask(String[] args) throws Exception {
        InetSocketAddress server = endpoint(args[1]);
        Key serverKey = Key.fromBase64(args[2]);
        try (RendezvousClient client = new RendezvousClient(KeyPair.generate(), serverKey, UdpTransport.open(server))) {
            client.register(List.of());
            for (int round = 0; round < 3; round++) {
                for (int i = 3; i < args.length; i++) {
                    Optional<RendezvousClient.RelayGrant> g = client.relay(Key.fromBase64(args[i]));
                    System.out.println(args[i] + (g.isPresent() ? " grant " + g.get().endpoint() : " none"));
                }
                Thread.sleep(1000);
            }
        }
    }

    private static void bind(String[] args) throws Exception {
        InetSocketAddress relay = endpoint(args[1]);
        byte[] token = HexFormat.of().parseHex(args[3]);
        byte[] datagram = new byte[V2Wire.RELAY_BIND_LENGTH];
        RelayControl.writeBind(datagram, 0, token, 0);
        try (DatagramTransport t = TransportFactory.raw().open(relay, Integer.parseInt(args[2]))) {
            t.send(ByteBuffer.wrap(datagram));
        }
        System.out.println("bound");
    }
}
