package dev.natpunch.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A classic BPF program (the {@code struct sock_filter} array of {@code SO_ATTACH_FILTER}), and
 * the one program the raw transport needs. Pure Java; turning it into native memory is the
 * caller's business.
 */
final class BpfProgram {

    // Opcode bits from linux/filter.h (identical on every architecture).
    static final int LD = 0x00;
    static final int LDX = 0x01;
    static final int ALU = 0x04;
    static final int JMP = 0x05;
    static final int RET = 0x06;
    static final int W = 0x00;
    static final int H = 0x08;
    static final int B = 0x10;
    static final int ABS = 0x20;
    static final int IND = 0x40;
    static final int MSH = 0xa0;
    static final int AND = 0x50;
    static final int JEQ = 0x10;
    static final int JSET = 0x40;
    static final int K = 0x00;

    /**
     * Added to an absolute load's offset to address the network header instead of the packet start
     * ({@code SKF_NET_OFF} in linux/filter.h).
     */
    static final int NET_OFF = -0x100000;

    /** Bytes of a packet to keep on accept: more than any IPv4 packet or IPv6 UDP datagram. */
    static final int ACCEPT = 0x40000;
    static final int REJECT = 0;

    /** One {@code struct sock_filter}: u16 code, u8 jt, u8 jf, u32 k. */
    record Insn(int code, int jt, int jf, int k) {
        Insn {
            if (code < 0 || code > 0xFFFF || jt < 0 || jt > 0xFF || jf < 0 || jf > 0xFF) {
                throw new IllegalArgumentException("bad BPF instruction " + code + "/" + jt + "/" + jf);
            }
        }
    }

    /** Size of one {@code struct sock_filter}. */
    static final int INSN_SIZE = 8;

    private final List<Insn> insns;

    BpfProgram(List<Insn> insns) {
        if (insns.isEmpty() || insns.size() > 4096) {
            throw new IllegalArgumentException("BPF program length " + insns.size() + " not in 1..4096");
        }
        this.insns = List.copyOf(insns);
    }

    List<Insn> instructions() {
        return insns;
    }

    /** The program as {@code struct sock_filter[]} in the given (native) byte order. */
    byte[] toBytes(ByteOrder order) {
        ByteBuffer b = ByteBuffer.allocate(insns.size() * INSN_SIZE).order(order);
        for (Insn i : insns) {
            b.putShort((short) i.code()).put((byte) i.jt()).put((byte) i.jf()).putInt(i.k());
        }
        return b.array();
    }

    /**
     * Accepts exactly the unfragmented IPv4 UDP packets from {@code source}:{@code sourcePort} to
     * local port {@code destinationPort}. A raw IPv4 socket's filter sees the packet from its IP
     * header on, so offsets are IP offsets; the UDP header's position depends on the IHL, which
     * {@code ldx msh} turns into X.
     */
    static BpfProgram ipv4UdpFrom(Inet4Address source, int sourcePort, int destinationPort) {
        if (sourcePort < 0 || sourcePort > 0xFFFF || destinationPort < 0 || destinationPort > 0xFFFF) {
            throw new IllegalArgumentException("port out of range");
        }
        byte[] a = source.getAddress();
        int address = ((a[0] & 0xFF) << 24) | ((a[1] & 0xFF) << 16) | ((a[2] & 0xFF) << 8) | (a[3] & 0xFF);
        Assembler asm = new Assembler();
        asm.op(LD | B | ABS, 0);                  // A = version/IHL byte
        asm.op(ALU | AND | K, 0xF0);
        asm.jumpUnlessEqual(0x40);                // version 4
        asm.op(LD | B | ABS, 9);
        asm.jumpUnlessEqual(Ipv4Udp.PROTOCOL_UDP);
        asm.op(LD | W | ABS, 12);
        asm.jumpUnlessEqual(address);             // source address
        asm.op(LD | H | ABS, 6);
        asm.rejectIfAnySet(0x3FFF);               // MF flag or a fragment offset: a fragment
        asm.op(LDX | B | MSH, 0);                 // X = 4 * IHL
        asm.op(LD | H | IND, 0);
        asm.jumpUnlessEqual(sourcePort);
        asm.op(LD | H | IND, 2);
        asm.jumpUnlessEqual(destinationPort);
        asm.op(RET | K, ACCEPT);
        return asm.finish();
    }

    /**
     * Accepts exactly the UDP datagrams from {@code source}:{@code sourcePort} to local port
     * {@code destinationPort}, for a raw {@code AF_INET6} socket of protocol UDP. Such a socket's
     * filter sees the packet from the UDP header on: the kernel has already pulled the IPv6 header
     * and any extension headers (and reassembled fragments), and only datagrams whose final next
     * header is UDP reach the socket. Ports are therefore at offsets 0 and 2, and the source address
     * is loaded relative to the network header through {@link #NET_OFF}.
     */
    static BpfProgram ipv6UdpFrom(Inet6Address source, int sourcePort, int destinationPort) {
        if (sourcePort < 0 || sourcePort > 0xFFFF || destinationPort < 0 || destinationPort > 0xFFFF) {
            throw new IllegalArgumentException("port out of range");
        }
        ByteBuffer address = ByteBuffer.wrap(source.getAddress());
        Assembler asm = new Assembler();
        asm.op(LD | B | ABS, NET_OFF);            // A = version/traffic class byte of the IPv6 header
        asm.op(ALU | AND | K, 0xF0);
        asm.jumpUnlessEqual(0x60);                // version 6
        for (int word = 0; word < 4; word++) {
            asm.op(LD | W | ABS, NET_OFF + 8 + 4 * word);
            asm.jumpUnlessEqual(address.getInt(4 * word)); // source address
        }
        asm.op(LD | H | ABS, 0);
        asm.jumpUnlessEqual(sourcePort);
        asm.op(LD | H | ABS, 2);
        asm.jumpUnlessEqual(destinationPort);
        asm.op(RET | K, ACCEPT);
        return asm.finish();
    }

    /** Straight-line code whose every failed test jumps to one final "return 0". */
    private static final class Assembler {
        private final List<int[]> code = new ArrayList<>(); // {code, k, kind}
        private static final int PLAIN = 0;
        private static final int UNLESS_EQUAL = 1;
        private static final int IF_ANY_SET = 2;

        void op(int opcode, int k) {
            code.add(new int[] {opcode, k, PLAIN});
        }

        void jumpUnlessEqual(int k) {
            code.add(new int[] {JMP | JEQ | K, k, UNLESS_EQUAL});
        }

        void rejectIfAnySet(int k) {
            code.add(new int[] {JMP | JSET | K, k, IF_ANY_SET});
        }

        BpfProgram finish() {
            int reject = code.size();
            List<Insn> out = new ArrayList<>(reject + 1);
            for (int pc = 0; pc < reject; pc++) {
                int[] c = code.get(pc);
                int toReject = reject - pc - 1;
                switch (c[2]) {
                    case UNLESS_EQUAL -> out.add(new Insn(c[0], 0, toReject, c[1]));
                    case IF_ANY_SET -> out.add(new Insn(c[0], toReject, 0, c[1]));
                    default -> out.add(new Insn(c[0], 0, 0, c[1]));
                }
            }
            out.add(new Insn(RET | K, 0, 0, REJECT));
            return new BpfProgram(out);
        }
    }
}
