package dev.natpunch.wireguard;

import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses per interface, as {@code wg} does: the userspace socket if there is one, else kernel
 * netlink; the {@code wg} command only if netlink cannot be used from Java at all.
 */
final class AutomaticBackend implements WireguardControl {
    private static final Logger LOG = LoggerFactory.getLogger(AutomaticBackend.class);
    private final List<Path> socketDirectories;
    private final Supplier<WireguardControl> netlink;
    private final BooleanSupplier netlinkProbe;
    private final WireguardControl wgCommand;
    private volatile Boolean netlinkUsable;

    AutomaticBackend(List<Path> socketDirectories, Supplier<WireguardControl> netlink, BooleanSupplier netlinkProbe,
            WireguardControl wgCommand) {
        this.socketDirectories = List.copyOf(socketDirectories);
        this.netlink = netlink;
        this.netlinkProbe = netlinkProbe;
        this.wgCommand = wgCommand;
    }

    /** The backend that would serve this interface now. */
    WireguardControl select(String interfaceName) {
        Interfaces.checkName(interfaceName);
        if (Interfaces.findSocket(socketDirectories, interfaceName) != null) {
            return new UapiBackend(socketDirectories);
        }
        Boolean usable = netlinkUsable;
        if (usable == null) {
            usable = netlinkProbe.getAsBoolean();
            netlinkUsable = usable;
            if (!usable) {
                LOG.debug("kernel netlink is unusable from this JVM; falling back to the wg command");
            }
        }
        return usable ? netlink.get() : wgCommand;
    }

    @Override
    public Device device(String interfaceName) throws WireguardException {
        WireguardControl backend = select(interfaceName);
        try {
            return backend.device(interfaceName);
        } catch (WireguardException e) {
            throw refine(backend, interfaceName, e);
        }
    }

    @Override
    public void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException {
        updatePeers(interfaceName, List.of(update));
    }

    @Override
    public void updatePeers(String interfaceName, List<PeerUpdate> updates) throws WireguardException {
        WireguardControl backend = select(interfaceName);
        try {
            backend.updatePeers(interfaceName, updates);
        } catch (WireguardException e) {
            throw refine(backend, interfaceName, e);
        }
    }

    /**
     * Netlink alone reports a missing module as "no WireGuard"; with userspace interfaces
     * around, the truth is "no such interface", and the message can name the ones that exist.
     */
    private WireguardException refine(WireguardControl backend, String interfaceName, WireguardException e) {
        if (backend.backendName().equals("netlink") && e.kind() == WireguardException.Kind.NO_BACKEND) {
            WireguardException refined = Interfaces.notFoundWithoutKernel(interfaceName, socketDirectories);
            refined.initCause(e);
            return refined;
        }
        return e;
    }

    @Override
    public String backendName() {
        return "automatic";
    }
}
