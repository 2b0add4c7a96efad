package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

/** Interface-name rules, socket lookup, and the errors shared by all backends. */
final class Interfaces {
    static final String INSTALL_HINT =
            "install wireguard-tools/wireguard-go or load the kernel module (modprobe wireguard)";
    static final String PRIVILEGE_HINT = "run as root or grant CAP_NET_ADMIN";

    private Interfaces() {}

    /** Linux's dev_valid_name, which also keeps the name safe inside a socket path and a command line. */
    /**
     * Throws NO_SUCH_PEER for the first update whose peer {@code device} does not have: update_only
     * (and WGPEER_F_UPDATE_ONLY) would make it a silent no-op, and the caller must hear about it
     * before anything is written. {@code device} was read for this check only: its private key is
     * zeroed.
     */
    static void requireConfigured(String interfaceName, Device device, List<PeerUpdate> updates)
            throws WireguardException {
        device.privateKey().ifPresent(Key::destroy);
        for (PeerUpdate u : updates) {
            if (device.peer(u.publicKey()).isEmpty()) {
                throw new WireguardException(WireguardException.Kind.NO_SUCH_PEER, "peer "
                        + u.publicKey().toBase64() + " is not configured on '" + interfaceName
                        + "'; nothing was changed (add it with 'wg set " + interfaceName + " peer ...' first)");
            }
        }
    }

    static String checkName(String name) {
        if (name == null || name.isEmpty() || name.length() > 15 || name.equals(".") || name.equals("..")
                || name.startsWith("-")) {
            throw new IllegalArgumentException("not a valid interface name: '" + name
                    + "' (1 to 15 characters, not '.', '..', not starting with '-')");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f) {
                throw new IllegalArgumentException("not a valid interface name: '" + name
                        + "' (no '/', ':', whitespace or non-ASCII characters)");
            }
        }
        return name;
    }

    /** The first existing {@code <dir>/<name>.sock}, or null. */
    static Path findSocket(List<Path> directories, String name) {
        for (Path dir : directories) {
            Path p = dir.resolve(name + ".sock");
            if (Files.exists(p)) {
                return p;
            }
        }
        return null;
    }

    /** Names of the userspace interfaces that have a socket in these directories. */
    static TreeSet<String> userspaceInterfaces(List<Path> directories) {
        TreeSet<String> names = new TreeSet<>();
        for (Path dir : directories) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.sock")) {
                for (Path p : s) {
                    String f = p.getFileName().toString();
                    names.add(f.substring(0, f.length() - ".sock".length()));
                }
            } catch (IOException e) {
                // An unreadable directory only makes the hint less specific.
            }
        }
        return names;
    }

    /**
     * The error for "no userspace socket for this interface and no kernel module": NO_BACKEND if
     * no userspace interface exists either, else NO_SUCH_INTERFACE naming those that do.
     */
    static WireguardException notFoundWithoutKernel(String name, List<Path> socketDirectories) {
        TreeSet<String> others = userspaceInterfaces(socketDirectories);
        if (others.isEmpty()) {
            return new WireguardException(WireguardException.Kind.NO_BACKEND,
                    "no WireGuard is running here: no userspace socket in " + socketDirectories
                            + " and the kernel WireGuard module is not loaded, so there is no interface '" + name
                            + "'; " + INSTALL_HINT + ", then create the interface");
        }
        return new WireguardException(WireguardException.Kind.NO_SUCH_INTERFACE,
                "no WireGuard interface '" + name + "': the userspace interfaces are " + others
                        + " and the kernel WireGuard module is not loaded; check the name or start 'wireguard-go "
                        + name + "'");
    }
}
