package dev.natpunch.it.lab;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A dependency-free program the lab runs inside namespaces (the JVM cannot enter another network
 * namespace itself). {@code serve PORT}: answers every datagram, IPv4 or IPv6, with the sender's
 * address:port as seen here, i.e. after NAT. {@code probe LOCALPORT IP:PORT...}: from one socket bound to
 * LOCALPORT, asks each echo in turn and prints {@code IP:PORT seen MAPPED} per echo.
 */
public final class UdpEcho {
    private UdpEcho() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals("serve")) {
            serve(Integer.parseInt(args[1]));
        } else if (args.length >= 3 && args[0].equals("probe")) {
            System.exit(probe(args));
        } else {
            System.err.println("usage: serve PORT | probe LOCALPORT IP:PORT...");
            System.exit(2);
        }
    }

    private static void serve(int port) throws IOException {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(port))) {
            System.out.println("listening on " + port);
            System.out.flush();
            byte[] buf = new byte[1500];
            while (true) {
                DatagramPacket in = new DatagramPacket(buf, buf.length);
                socket.receive(in);
                String seen = format(in.getAddress()) + ":" + in.getPort();
                byte[] reply = seen.getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(reply, reply.length, in.getSocketAddress()));
            }
        }
    }

    private static int probe(String[] args) throws IOException {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(Integer.parseInt(args[1])))) {
            socket.setSoTimeout(500);
            for (int i = 2; i < args.length; i++) {
                String target = args[i];
                int colon = target.lastIndexOf(':');
                String host = target.substring(0, colon).replace("[", "").replace("]", "");
                InetSocketAddress to = new InetSocketAddress(host, Integer.parseInt(target.substring(colon + 1)));
                String seen = ask(socket, to);
                if (seen == null) {
                    System.err.println(target + " did not answer");
                    return 1;
                }
                System.out.println(target + " seen " + seen);
            }
            return 0;
        }
    }

    private static String format(java.net.InetAddress a) {
        String s = a.getHostAddress();
        return s.indexOf(':') >= 0 ? "[" + s + "]" : s;
    }

    private static String ask(DatagramSocket socket, InetSocketAddress to) throws IOException {
        byte[] probe = "probe".getBytes(StandardCharsets.US_ASCII);
        byte[] buf = new byte[1500];
        for (int attempt = 0; attempt < 10; attempt++) {
            socket.send(new DatagramPacket(probe, probe.length, to));
            try {
                while (true) {
                    DatagramPacket in = new DatagramPacket(buf, buf.length);
                    socket.receive(in);
                    if (in.getSocketAddress().equals(to)) {
                        return new String(buf, 0, in.getLength(), StandardCharsets.US_ASCII);
                    }
                }
            } catch (SocketTimeoutException e) {
                // lost or not yet listening: ask again
            }
        }
        return null;
    }
}
