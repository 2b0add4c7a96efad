package dev.natpunch.wireguard;

import java.nio.file.Path;
import java.util.List;

/**
 * Reads a WireGuard device and changes a peer's endpoint and persistent keepalive, touching
 * nothing else. Implementations are thread-safe and hold no open resources between calls.
 *
 * <p>Interface names are checked as Linux checks them (1 to 15 characters, no '/', ':' or
 * whitespace, not "." or ".."), and additionally may not start with '-' so that no name can
 * pass for an option of the {@code wg} command; a bad name is an {@link IllegalArgumentException}.
 */
public interface WireguardControl {
    /** The directories wireguard-go and other userspace implementations put their sockets in. */
    List<Path> DEFAULT_SOCKET_DIRECTORIES = List.of(Path.of("/var/run/wireguard"), Path.of("/run/wireguard"));

    /**
     * Picks the backend per interface: UAPI socket if /var/run/wireguard/&lt;if&gt;.sock (or
     * /run/wireguard) exists, else kernel netlink, else the {@code wg} command (used only when
     * netlink cannot be reached from Java at all, e.g. JNA's native library does not load).
     * {@link #backendName()} is {@code "automatic"}.
     */
    static WireguardControl automatic() {
        return new AutomaticBackend(DEFAULT_SOCKET_DIRECTORIES, NetlinkBackend::new, NetlinkBackend::usable,
                new WgCommandBackend(Path.of("wg")));
    }

    /** The userspace API over the Unix socket in the default directories. */
    static WireguardControl uapi() {
        return new UapiBackend(DEFAULT_SOCKET_DIRECTORIES);
    }

    /** The userspace API over {@code <socketDirectory>/<interface>.sock}. */
    static WireguardControl uapi(Path socketDirectory) {
        return new UapiBackend(List.of(socketDirectory));
    }

    /**
     * The Linux kernel's generic netlink API (kernel module {@code wireguard}). Resolving the
     * family may make the kernel try to load the module, as {@code wg} does.
     */
    static WireguardControl netlink() {
        return new NetlinkBackend();
    }

    /** The {@code wg} command found on the PATH. */
    static WireguardControl wgCommand() {
        return new WgCommandBackend(Path.of("wg"));
    }

    /** The {@code wg} command at this path. */
    static WireguardControl wgCommand(Path wgExecutable) {
        return new WgCommandBackend(wgExecutable);
    }

    /** Reads the interface: keys, port, fwmark, and every peer. */
    Device device(String interfaceName) throws WireguardException;

    /**
     * Sets only what the update names (endpoint and/or persistent keepalive) on an existing peer:
     * update_only / WGPEER_F_UPDATE_ONLY, never creates or removes peers, never touches keys or
     * allowed IPs.
     *
     * @throws WireguardException of kind {@link WireguardException.Kind#NO_SUCH_PEER} if the peer
     *     is not configured on the interface (then nothing was changed)
     */
    void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException;

    /**
     * Applies {@code updates} in their order, as {@link #updatePeer} applies one. A peer may
     * appear more than once; its updates take effect in order, as separate changes (so keepalive
     * off, then on, sends a keepalive). Every peer is checked first, and if one is not configured
     * nothing is changed. An empty list changes nothing.
     *
     * <p>The backends of this library write the whole list in as few exchanges with WireGuard as
     * they can (one UAPI request, one {@code wg} command, netlink messages of up to 32 peers), so
     * that writing a whole mesh's endpoints costs about what one costs. This default, for other
     * implementations, reads the interface once and then calls {@link #updatePeer} for each.
     *
     * @throws WireguardException of kind {@link WireguardException.Kind#NO_SUCH_PEER} if a peer
     *     is not configured on the interface (then nothing was changed)
     */
    default void updatePeers(String interfaceName, List<PeerUpdate> updates) throws WireguardException {
        if (updates.isEmpty()) {
            return;
        }
        Interfaces.requireConfigured(interfaceName, device(interfaceName), updates);
        for (PeerUpdate update : updates) {
            updatePeer(interfaceName, update);
        }
    }

    /** {@code "uapi"}, {@code "netlink"}, {@code "wg"} (or {@code "automatic"}). */
    String backendName();
}
