package dev.natpunch.cli;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Linux capabilities of the calling thread, as {@code /proc/thread-self/status} shows them,
 * and the drop of the ones the client does not need.
 *
 * <p>Linux keeps capabilities per thread, and {@code capset(2)} and {@code PR_CAPBSET_DROP} change
 * only the calling thread (and the threads and processes it starts afterwards). So {@link
 * #dropAllBut} reduces the thread that runs the client, which is the one that parses every
 * datagram and starts {@code wg}; the JVM's own threads started before it (garbage collector,
 * compilers) keep theirs. No system call changes another thread's capabilities, so that is the
 * most a JVM can do without a helper process.
 */
final class Capabilities {
    static final int CAP_DAC_OVERRIDE = 1;
    static final int CAP_SETPCAP = 8;
    static final int CAP_NET_ADMIN = 12;
    static final int CAP_NET_RAW = 13;

    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    private static final int PR_CAPBSET_READ = 23;
    private static final int PR_CAPBSET_DROP = 24;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final String[] NAMES = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };

    /** The libc calls of the drop; loaded only when a drop happens. */
    private interface Libc extends Library {
        int capget(int[] header, int[] data) throws LastErrorException;

        int capset(int[] header, int[] data) throws LastErrorException;

        int prctl(int option, NativeLong arg2, NativeLong arg3, NativeLong arg4, NativeLong arg5)
                throws LastErrorException;
    }

    /** One thread's view: the five capability sets and the effective user id. */
    record Status(long effective, long permitted, long inheritable, long bounding, long ambient, int euid,
                  boolean noNewPrivs) {
        boolean has(int cap) {
            return (effective & bit(cap)) != 0;
        }
    }

    private Capabilities() {
    }

    static long bit(int cap) {
        return 1L << cap;
    }

    /** The calling thread's status; empty sets where the kernel does not show them. */
    static Status current() throws IOException {
        Path self = Path.of("/proc/thread-self/status");
        return parse(read(Files.exists(self) ? self : Path.of("/proc/self/status")));
    }

    /**
     * Reads a /proc file in one read. Not {@code Files.readString}: it reads the first byte on
     * its own when the size is 0, as /proc reports, and a sysctl file then ends after that byte.
     */
    private static String read(Path procFile) throws IOException {
        try (InputStream in = Files.newInputStream(procFile)) {
            return new String(in.readNBytes(64 * 1024), StandardCharsets.US_ASCII);
        }
    }

    static Status parse(String status) {
        long eff = 0;
        long prm = 0;
        long inh = 0;
        long bnd = 0;
        long amb = 0;
        int euid = -1;
        boolean nnp = false;
        for (String line : status.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String value = line.substring(colon + 1).strip();
            switch (line.substring(0, colon)) {
                case "CapEff" -> eff = Long.parseUnsignedLong(value, 16);
                case "CapPrm" -> prm = Long.parseUnsignedLong(value, 16);
                case "CapInh" -> inh = Long.parseUnsignedLong(value, 16);
                case "CapBnd" -> bnd = Long.parseUnsignedLong(value, 16);
                case "CapAmb" -> amb = Long.parseUnsignedLong(value, 16);
                case "Uid" -> euid = Integer.parseInt(value.split("\\s+")[1]);
                case "NoNewPrivs" -> nnp = value.equals("1");
                default -> {
                }
            }
        }
        return new Status(eff, prm, inh, bnd, amb, euid, nnp);
    }

    static String name(int cap) {
        return cap < NAMES.length ? NAMES[cap] : "CAP_" + cap;
    }

    /** The names of the capabilities in {@code set}, e.g. {@code [CAP_NET_ADMIN, CAP_NET_RAW]}. */
    static List<String> names(long set) {
        List<String> names = new ArrayList<>();
        for (int cap = 0; cap < 64; cap++) {
            if ((set & bit(cap)) != 0) {
                names.add(name(cap));
            }
        }
        return names;
    }

    /**
     * Removes every capability but {@code keep} from the calling thread: from the bounding set
     * (when CAP_SETPCAP allows it), so that no program it runs can regain them, then from the
     * effective, permitted and inheritable sets; and sets no_new_privs, so that no set-user-ID or
     * file-capability program it runs gains any.
     *
     * @return the capabilities removed from the effective set
     */
    static long dropAllBut(long keep) throws IOException {
        Status before = current();
        Libc libc = Native.load("c", Libc.class);
        try {
            if (before.has(CAP_SETPCAP)) {
                int last = Integer.parseInt(read(Path.of("/proc/sys/kernel/cap_last_cap")).strip());
                for (int cap = 0; cap <= last; cap++) {
                    if ((keep & bit(cap)) == 0 && prctl(libc, PR_CAPBSET_READ, cap) == 1) {
                        prctl(libc, PR_CAPBSET_DROP, cap);
                    }
                }
            }
            int[] header = {LINUX_CAPABILITY_VERSION_3, 0};
            int[] data = new int[6];
            libc.capget(header, data);
            for (int word = 0; word < 2; word++) {
                int mask = (int) (keep >>> (32 * word));
                data[3 * word] &= mask;      // effective
                data[3 * word + 1] &= mask;  // permitted
                data[3 * word + 2] &= mask;  // inheritable
            }
            libc.capset(header, data);
            prctl(libc, PR_SET_NO_NEW_PRIVS, 1);
        } catch (LastErrorException e) {
            throw new IOException("dropping capabilities failed: errno " + e.getErrorCode(), e);
        }
        return before.effective() & ~keep;
    }

    private static int prctl(Libc libc, int option, long arg) {
        NativeLong zero = new NativeLong(0);
        return libc.prctl(option, new NativeLong(arg), zero, zero, zero);
    }
}
