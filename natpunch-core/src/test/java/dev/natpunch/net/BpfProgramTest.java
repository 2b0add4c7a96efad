package dev.natpunch.net;

import static dev.natpunch.net.Ipv4UdpTest.addr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BpfProgramTest {

    private static final Inet4Address SERVER = addr("198.51.100.7");
    private static final Inet4Address LOCAL = addr("192.0.2.1");
    private static final int SERVER_PORT = 3478;
    private static final int LOCAL_PORT = 51820;

    private final BpfProgram program = BpfProgram.ipv4UdpFrom(SERVER, SERVER_PORT, LOCAL_PORT);

    @Test
    void assemblesTheExpectedInstructions() {
        List<BpfProgram.Insn> expected = List.of(
                new BpfProgram.Insn(0x30, 0, 0, 0),            // ldb [0]
                new BpfProgram.Insn(0x54, 0, 0, 0xF0),         // and #0xf0
                new BpfProgram.Insn(0x15, 0, 12, 0x40),        // jeq #0x40, else reject
                new BpfProgram.Insn(0x30, 0, 0, 9),            // ldb [9]
                new BpfProgram.Insn(0x15, 0, 10, 17),          // jeq #17
                new BpfProgram.Insn(0x20, 0, 0, 12),           // ld [12]
                new BpfProgram.Insn(0x15, 0, 8, 0xC6336407),   // jeq #198.51.100.7
                new BpfProgram.Insn(0x28, 0, 0, 6),            // ldh [6]
                new BpfProgram.Insn(0x45, 6, 0, 0x3FFF),       // jset #0x3fff, reject
                new BpfProgram.Insn(0xB1, 0, 0, 0),            // ldx 4*([0]&0xf)
                new BpfProgram.Insn(0x48, 0, 0, 0),            // ldh [x+0]
                new BpfProgram.Insn(0x15, 0, 3, SERVER_PORT),  // jeq #3478
                new BpfProgram.Insn(0x48, 0, 0, 2),            // ldh [x+2]
                new BpfProgram.Insn(0x15, 0, 1, LOCAL_PORT),   // jeq #51820
                new BpfProgram.Insn(0x06, 0, 0, 0x40000),      // ret #262144
                new BpfProgram.Insn(0x06, 0, 0, 0));           // ret #0
        assertEquals(expected, program.instructions());
    }

    @Test
    void serialisesAsStructSockFilter() {
        byte[] le = program.toBytes(ByteOrder.LITTLE_ENDIAN);
        assertEquals(16 * 8, le.length);
        // jeq #198.51.100.7, jt 0, jf 8: code 0x0015 and k in little-endian.
        assertArrayEquals(new byte[] {0x15, 0x00, 0x00, 0x08, 0x07, 0x64, 0x33, (byte) 0xC6},
                Arrays.copyOfRange(le, 6 * 8, 7 * 8));
        byte[] be = program.toBytes(ByteOrder.BIG_ENDIAN);
        assertArrayEquals(new byte[] {0x00, 0x15, 0x00, 0x08, (byte) 0xC6, 0x33, 0x64, 0x07},
                Arrays.copyOfRange(be, 6 * 8, 7 * 8));
    }

    @Test
    void acceptsTheServersAnswer() {
        assertEquals(BpfProgram.ACCEPT, run(packet(SERVER, SERVER_PORT, LOCAL, LOCAL_PORT)));
    }

    @Test
    void acceptsTheServersAnswerWithIpOptions() {
        byte[] plain = packet(SERVER, SERVER_PORT, LOCAL, LOCAL_PORT);
        byte[] withOptions = new byte[plain.length + 8];
        System.arraycopy(plain, 0, withOptions, 0, 20);
        System.arraycopy(plain, 20, withOptions, 28, plain.length - 20);
        withOptions[0] = 0x47;
        assertEquals(BpfProgram.ACCEPT, run(withOptions));
        // With the options the port fields sit 8 bytes later: a filter reading at offset 20 would
        // see option bytes (zeros) and reject, so this fails if the IHL were ignored.
        withOptions[0] = 0x45;
        assertEquals(BpfProgram.REJECT, run(withOptions));
    }

    @Test
    void rejectsEverythingElse() {
        assertEquals(BpfProgram.REJECT, run(packet(SERVER, SERVER_PORT + 1, LOCAL, LOCAL_PORT)), "other source port");
        assertEquals(BpfProgram.REJECT, run(packet(SERVER, SERVER_PORT, LOCAL, LOCAL_PORT + 1)), "other local port");
        assertEquals(BpfProgram.REJECT, run(packet(addr("198.51.100.8"), SERVER_PORT, LOCAL, LOCAL_PORT)),
                "other source address");
        assertEquals(BpfProgram.REJECT, run(packet(LOCAL, LOCAL_PORT, SERVER, SERVER_PORT)), "our own datagram");
        byte[] p = packet(SERVER, SERVER_PORT, LOCAL, LOCAL_PORT);
        assertEquals(BpfProgram.REJECT, run(set(p, 9, 6)), "TCP");
        assertEquals(BpfProgram.REJECT, run(set(p, 0, 0x65)), "IP version 6");
        assertEquals(BpfProgram.REJECT, run(set(p, 6, 0x60)), "more fragments");
        assertEquals(BpfProgram.REJECT, run(set(p, 7, 0x01)), "later fragment");
        assertEquals(BpfProgram.ACCEPT, run(set(p, 6, 0x00)), "DF clear is fine");
        assertEquals(BpfProgram.REJECT, run(Arrays.copyOf(p, 22)), "truncated before the ports");
    }

    private int run(byte[] packet) {
        return Cbpf.run(program.toBytes(ByteOrder.nativeOrder()), packet);
    }

    private static byte[] packet(Inet4Address src, int srcPort, Inet4Address dst, int dstPort) {
        ByteBuffer out = ByteBuffer.allocate(100);
        int n = Ipv4Udp.encode(out, src, srcPort, dst, dstPort, 7, true, 64, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        return Arrays.copyOf(out.array(), n);
    }

    private static byte[] set(byte[] packet, int index, int value) {
        byte[] p = packet.clone();
        p[index] = (byte) value;
        return p;
    }

    private static final Inet6Address SERVER6 = Ipv6RawFramingTest.addr6("2001:db8:99::1");
    private static final Inet6Address LOCAL6 = Ipv6RawFramingTest.addr6("fd00:6::77");
    private final BpfProgram program6 = BpfProgram.ipv6UdpFrom(SERVER6, SERVER_PORT, LOCAL_PORT);

    @Test
    void assemblesTheIpv6Program() {
        int net = 0xFFF00000; // SKF_NET_OFF as the u32 k field holds it
        List<BpfProgram.Insn> expected = List.of(
                new BpfProgram.Insn(0x30, 0, 0, net),          // ldb [net+0]
                new BpfProgram.Insn(0x54, 0, 0, 0xF0),         // and #0xf0
                new BpfProgram.Insn(0x15, 0, 13, 0x60),        // jeq #0x60, else reject
                new BpfProgram.Insn(0x20, 0, 0, net + 8),      // ld [net+8]
                new BpfProgram.Insn(0x15, 0, 11, 0x20010DB8),  // jeq #2001:0db8
                new BpfProgram.Insn(0x20, 0, 0, net + 12),
                new BpfProgram.Insn(0x15, 0, 9, 0x00990000),  // jeq #0099:0000
                new BpfProgram.Insn(0x20, 0, 0, net + 16),
                new BpfProgram.Insn(0x15, 0, 7, 0),
                new BpfProgram.Insn(0x20, 0, 0, net + 20),
                new BpfProgram.Insn(0x15, 0, 5, 1),            // jeq #0000:0001
                new BpfProgram.Insn(0x28, 0, 0, 0),            // ldh [0]: UDP source port
                new BpfProgram.Insn(0x15, 0, 3, SERVER_PORT),
                new BpfProgram.Insn(0x28, 0, 0, 2),            // ldh [2]: UDP destination port
                new BpfProgram.Insn(0x15, 0, 1, LOCAL_PORT),
                new BpfProgram.Insn(0x06, 0, 0, 0x40000),      // ret #262144
                new BpfProgram.Insn(0x06, 0, 0, 0));           // ret #0
        assertEquals(expected, program6.instructions());
        byte[] le = program6.toBytes(ByteOrder.LITTLE_ENDIAN);
        // ld [net+8]: code 0x0020, k 0xfff00008 little-endian.
        assertArrayEquals(new byte[] {0x20, 0x00, 0x00, 0x00, 0x08, 0x00, (byte) 0xF0, (byte) 0xFF},
                Arrays.copyOfRange(le, 3 * 8, 4 * 8));
    }

    @Test
    void ipv6ProgramAcceptsTheServersAnswerAsTheRawSocketSeesIt() {
        assertEquals(BpfProgram.ACCEPT, run6(packet6(SERVER6, SERVER_PORT, LOCAL6, LOCAL_PORT, false)));
        // After a hop-by-hop header the kernel has pulled that too: the filter still starts at UDP.
        assertEquals(BpfProgram.ACCEPT, run6(packet6(SERVER6, SERVER_PORT, LOCAL6, LOCAL_PORT, true)));
    }

    @Test
    void ipv6ProgramRejectsEverythingElse() {
        assertEquals(BpfProgram.REJECT, run6(packet6(SERVER6, SERVER_PORT + 1, LOCAL6, LOCAL_PORT, false)),
                "other source port");
        assertEquals(BpfProgram.REJECT, run6(packet6(SERVER6, SERVER_PORT, LOCAL6, LOCAL_PORT + 1, false)),
                "other local port");
        for (String other : List.of("2001:db8:99::2", "2001:db8:98::1", "2001:db9:99::1", "2001:db8:99:0:1::1")) {
            assertEquals(BpfProgram.REJECT,
                    run6(packet6(Ipv6RawFramingTest.addr6(other), SERVER_PORT, LOCAL6, LOCAL_PORT, false)), other);
        }
        assertEquals(BpfProgram.REJECT, run6(packet6(LOCAL6, LOCAL_PORT, SERVER6, SERVER_PORT, false)),
                "our own datagram");
        Frame f = packet6(SERVER6, SERVER_PORT, LOCAL6, LOCAL_PORT, false);
        f.bytes()[0] = 0x45;
        assertEquals(BpfProgram.REJECT, run6(f), "not an IPv6 network header");
        Frame truncated = packet6(SERVER6, SERVER_PORT, LOCAL6, LOCAL_PORT, false);
        assertEquals(BpfProgram.REJECT, run6(new Frame(Arrays.copyOf(truncated.bytes(), truncated.data() + 3),
                truncated.data())), "truncated before the destination port");
    }

    /**
     * The IPv4 program on an IPv6 raw socket would read the UDP header as an IP header: it must
     * not accept the answer, which is why the IPv6 case needs its own program.
     */
    @Test
    void theIpv4ProgramsOffsetsDoNotFitWhatAnIpv6RawSocketSees() {
        Frame f = packet6(SERVER6, SERVER_PORT, LOCAL6, LOCAL_PORT, false);
        assertEquals(BpfProgram.REJECT, Cbpf.run(program.toBytes(ByteOrder.nativeOrder()), f.bytes(), f.data(), 0));
    }

    private int run6(Frame f) {
        return Cbpf.run(program6.toBytes(ByteOrder.nativeOrder()), f.bytes(), f.data(), 0);
    }

    /** A whole IPv6 packet and where the raw socket's data (the UDP header) starts in it. */
    record Frame(byte[] bytes, int data) {}

    private static Frame packet6(Inet6Address src, int srcPort, Inet6Address dst, int dstPort, boolean hopByHop) {
        byte[] payload = {1, 2, 3};
        int ext = hopByHop ? 8 : 0;
        ByteBuffer b = ByteBuffer.allocate(40 + ext + 8 + payload.length);
        b.putInt(0x60000000).putShort((short) (ext + 8 + payload.length)).put((byte) (hopByHop ? 0 : 17))
                .put((byte) 64).put(src.getAddress()).put(dst.getAddress());
        if (hopByHop) {
            b.put((byte) 17).put((byte) 0).put(new byte[] {1, 4, 0, 0, 0, 0}); // PadN option
        }
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + payload.length))
                .putShort((short) 0x1234).put(payload);
        return new Frame(b.array(), 40 + ext);
    }

    /** A tiny classic BPF interpreter, as the kernel runs socket filters: enough for our opcodes. */
    static final class Cbpf {
        static int run(byte[] code, byte[] pkt) {
            return run(code, pkt, 0, 0);
        }

        /**
         * Runs over {@code frame}, whose socket-visible data starts at {@code data} and whose
         * network header at {@code network}: loads at offset k read {@code data + k}, loads at
         * {@code SKF_NET_OFF + k} read {@code network + k}, as the kernel's do.
         */
        static int run(byte[] code, byte[] frame, int data, int network) {
            ByteBuffer c = ByteBuffer.wrap(code).order(ByteOrder.nativeOrder());
            ByteBuffer p = ByteBuffer.wrap(frame);
            byte[] pkt = Arrays.copyOfRange(frame, data, frame.length);
            int a = 0;
            int x = 0;
            int pc = 0;
            int count = code.length / 8;
            for (int steps = 0; steps < 10_000; steps++) {
                if (pc < 0 || pc >= count) {
                    throw new AssertionError("pc out of program: " + pc);
                }
                int op = c.getShort(pc * 8) & 0xFFFF;
                int jt = c.get(pc * 8 + 2) & 0xFF;
                int jf = c.get(pc * 8 + 3) & 0xFF;
                int k = c.getInt(pc * 8 + 4);
                pc++;
                switch (op) {
                    case 0x20, 0x28, 0x30, 0x40, 0x48, 0x50 -> {
                        int size = switch (op & 0x18) { case 0x00 -> 4; case 0x08 -> 2; default -> 1; };
                        long off = (long) k + ((op & 0xE0) == 0x40 ? x : 0);
                        if (off >= BpfProgram.NET_OFF && off < BpfProgram.NET_OFF + 0x100000 && (op & 0xE0) == 0x20) {
                            off = network + (off - BpfProgram.NET_OFF);
                        } else if (off < 0 || off + size > pkt.length) {
                            return 0; // the kernel aborts with "drop" on an out-of-bounds load
                        } else {
                            off += data;
                        }
                        if (off < 0 || off + size > frame.length) {
                            return 0;
                        }
                        a = size == 4 ? p.getInt((int) off)
                                : size == 2 ? p.getShort((int) off) & 0xFFFF : p.get((int) off) & 0xFF;
                    }
                    case 0xB1 -> {
                        if (k < 0 || k >= pkt.length) {
                            return 0;
                        }
                        x = 4 * (p.get(data + k) & 0x0F);
                    }
                    case 0x54 -> a &= k;
                    case 0x05 -> pc += k;
                    case 0x15 -> pc += a == k ? jt : jf;
                    case 0x45 -> pc += (a & k) != 0 ? jt : jf;
                    case 0x06 -> {
                        return k;
                    }
                    case 0x16 -> {
                        return a;
                    }
                    default -> throw new AssertionError("opcode not interpreted: 0x" + Integer.toHexString(op));
                }
            }
            throw new AssertionError("program does not terminate");
        }
    }
}
