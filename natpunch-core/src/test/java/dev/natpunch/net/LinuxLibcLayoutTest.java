package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import org.junit.jupiter.api.Test;

/** The structures must match the kernel's layouts byte for byte, padding included. */
class LinuxLibcLayoutTest {

    @Test
    void sockFprogHasItsPointerAfterPadding() {
        assumeTrue(Platform.isLinux(), "Linux structure layouts");
        Memory insns = new Memory(8);
        LinuxLibc.SockFprog fprog = new LinuxLibc.SockFprog(16, insns);
        assertEquals(2 * Native.POINTER_SIZE, fprog.size());
        assertEquals(16, fprog.getPointer().getShort(0));
        assertEquals(insns, fprog.getPointer().getPointer(Native.POINTER_SIZE));
    }

    @Test
    void pollFdAndSockaddrInLayouts() {
        assumeTrue(Platform.isLinux(), "Linux structure layouts");
        LinuxLibc.PollFd[] fds = (LinuxLibc.PollFd[]) new LinuxLibc.PollFd().toArray(2);
        assertEquals(8, fds[0].size());
        assertEquals(com.sun.jna.Pointer.nativeValue(fds[0].getPointer()) + 8,
                com.sun.jna.Pointer.nativeValue(fds[1].getPointer()));
        LinuxLibc.SockaddrIn sin = new LinuxLibc.SockaddrIn(new byte[] {(byte) 198, 51, 100, 7}, 0x1234);
        assertEquals(16, sin.size());
        byte[] raw = sin.getPointer().getByteArray(0, 16);
        byte[] expected = new byte[16];
        java.nio.ByteBuffer.wrap(expected).order(java.nio.ByteOrder.nativeOrder()).putShort((short) 2);
        expected[2] = 0x12;
        expected[3] = 0x34;
        expected[4] = (byte) 198;
        expected[5] = 51;
        expected[6] = 100;
        expected[7] = 7;
        assertArrayEquals(expected, raw);
    }

    @Test
    void sockaddrIn6Layout() {
        assumeTrue(Platform.isLinux(), "Linux structure layouts");
        byte[] address = new byte[16];
        address[0] = 0x20;
        address[1] = 0x01;
        address[15] = 7;
        LinuxLibc.SockaddrIn6 sin6 = new LinuxLibc.SockaddrIn6(address, 0x1234, 5);
        assertEquals(LinuxLibc.SockaddrIn6.SIZE, sin6.size());
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.wrap(sin6.getPointer().getByteArray(0, 28))
                .order(java.nio.ByteOrder.nativeOrder());
        assertEquals(10, raw.getShort(0));
        assertEquals(0x12, raw.get(2));
        assertEquals(0x34, raw.get(3));
        assertEquals(0, raw.getInt(4));
        byte[] atOffset = new byte[16];
        raw.get(LinuxLibc.SockaddrIn6.ADDRESS_OFFSET, atOffset);
        assertArrayEquals(address, atOffset);
        assertEquals(5, raw.getInt(LinuxLibc.SockaddrIn6.SCOPE_ID_OFFSET));
    }
}
