package dev.natpunch.it;

import dev.natpunch.crypto.Key;
import dev.natpunch.net.DatagramTransport;
import dev.natpunch.net.TransportFactory;
import dev.natpunch.protocol.v2.RelayControl;
import dev.natpunch.protocol.v2.V2Wire;
import dev.natpunch.relay.AllocationResult;
import dev.natpunch.relay.Relay;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * Programs the relay tests run inside lab namespaces, standing in for the rendezvous server's
 * allocation and the client's bind until both speak RELAY.
 *
 * <ul>
 *   <li>{@code serve ADDRESS FIRST LAST KEY_A KEY_B BYTES_PER_SECOND}: a relay on ADDRESS with one
 *       allocation for the pair (both sides asked), printing {@code a IP:PORT TOKEN} and
 *       {@code b IP:PORT TOKEN}, then {@code forwarded N} every second until killed.
 *       BYTES_PER_SECOND 0 is no bandwidth limit.
 *   <li>{@code bind RELAY_IP:PORT LOCAL_PORT TOKEN}: sends the bind datagram to the relay from
 *       LOCAL_PORT, which WireGuard holds, through a raw socket, as the client does.
 *   <li>{@code send RELAY_IP:PORT HEX...}: sends each datagram from one ordinary UDP socket, as
 *       a third party would.
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
        } else {
            System.err.println("usage: serve ADDRESS FIRST LAST KEY_A KEY_B BYTES_PER_SECOND"
                    + " | bind RELAY_IP:PORT LOCAL_PORT TOKEN | send RELAY_IP:PORT HEX...");
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
        }
        System.out.println("sent");
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
