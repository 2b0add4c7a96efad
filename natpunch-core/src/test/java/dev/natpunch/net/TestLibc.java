package dev.natpunch.net;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

/**
 * libc calls only tests make: entering network namespaces, dropping capabilities per thread, and
 * binding the raw sockets tests use to forge packets.
 */
interface TestLibc extends Library {

    TestLibc INSTANCE = Native.load("c", TestLibc.class);

    int O_RDONLY = 0;
    int O_CLOEXEC = 0x80000;
    int CLONE_NEWNET = 0x40000000;
    int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    int CAP_NET_RAW = 13;

    int geteuid();

    int open(String path, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int setns(int fd, int nstype) throws LastErrorException;

    int bind(int fd, Structure address, int addressLength) throws LastErrorException;

    /** header: {version, pid}; data: three {effective, permitted, inheritable} words, low then high. */
    int capget(int[] header, int[] data) throws LastErrorException;

    int capset(int[] header, int[] data) throws LastErrorException;
}
