package dev.natpunch.cli;

import dev.natpunch.wireguard.Device;
import dev.natpunch.wireguard.Peer;
import dev.natpunch.wireguard.WireguardControl;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Shows each peer of a WireGuard interface: the state natpunch's client last reached for"
                    + " it (direct, relayed and through which relay port, not registered, unreachable...),"
                    + " the endpoint WireGuard uses now and of which kind, and the time since the last"
                    + " WireGuard handshake.",
            "The state comes from a running (or the last) 'natpunch client' on this machine;"
                    + " without one, only what WireGuard shows. Needs root, like 'wg show'.",
            "",
            "Example:  natpunch status wg0",
            ""
        })
final class StatusCommand implements Callable<Integer> {
    /** WireGuard's REJECT_AFTER_TIME: a handshake older than this means the tunnel is down. */
    private static final Duration TUNNEL_ALIVE = Duration.ofSeconds(180);

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "WIREGUARD_INTERFACE", description = "The interface, e.g. wg0.")
    String interfaceName;

    @Option(names = "--json", defaultValue = "false", description = "One JSON object per peer, one per line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Device device = WireguardControl.automatic().device(interfaceName);
        Map<String, StateFile.Entry> states = StateFile.read(interfaceName);
        PrintWriter out = spec.commandLine().getOut();
        Instant now = Instant.now();
        if (!json) {
            out.println(interfaceName + ": " + device.peers().size() + (device.peers().size() == 1 ? " peer" : " peers"));
        }
        for (Peer p : device.peers()) {
            String key = p.publicKey().toBase64();
            StateFile.Entry e = states.get(key);
            String endpoint = p.endpoint().map(HostPort::format).orElse("-");
            Duration age = p.latestHandshake().map(t -> Duration.between(t, now)).orElse(null);
            boolean alive = age != null && age.compareTo(TUNNEL_ALIVE) < 0;
            String state = e != null ? e.state() : alive ? "handshaking" : "no-handshake";
            // The relay port the client was granted: the relay it goes through (a server's, or a
            // relay host's), whatever WireGuard roamed to since.
            String relay = e != null && e.state().equals("relayed") ? e.endpoint() : null;
            String kind = endpoint.equals(relay) ? "relay" : p.endpoint().isEmpty() ? "-" : "direct";
            String handshake = age == null ? "never" : age.toSeconds() + " s ago";
            if (json) {
                out.println("{\"peer\":\"" + key + "\",\"state\":\"" + state + "\",\"endpoint\":\"" + endpoint
                        + "\",\"path\":\"" + kind + "\",\"relay\":" + (relay == null ? "null" : "\"" + relay + "\"")
                        + ",\"latestHandshakeSecondsAgo\":"
                        + (age == null ? "null" : Long.toString(age.toSeconds()))
                        + ",\"tunnelAlive\":" + alive + ",\"rxBytes\":" + p.rxBytes() + ",\"txBytes\":" + p.txBytes() + "}");
            } else {
                out.println("peer " + key + ": " + state + (relay == null ? "" : " via " + relay)
                        + ", endpoint " + endpoint + " (" + kind
                        + "), handshake " + handshake + (alive ? "" : " (tunnel down)")
                        + ", rx " + p.rxBytes() + " B, tx " + p.txBytes() + " B");
            }
        }
        out.flush();
        return 0;
    }
}
