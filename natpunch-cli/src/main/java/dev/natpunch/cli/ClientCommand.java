package dev.natpunch.cli;

import dev.natpunch.client.PeerResolver;
import dev.natpunch.client.PeerResult;
import dev.natpunch.client.PeerStatus;
import dev.natpunch.client.ResolveListener;
import dev.natpunch.client.ResolveReport;
import dev.natpunch.crypto.Key;
import dev.natpunch.wireguard.WireguardControl;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "client",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Resolves every peer of a WireGuard interface through the rendezvous server and sets"
                    + " each found peer's endpoint and persistent keepalive, so both NATs open and"
                    + " the peers talk directly. Run it on every peer; it needs root (raw socket"
                    + " and WireGuard configuration).",
            "",
            "It registers with the interface's own key, sending from the interface's listen"
                    + " port, so the server sees the same NAT mapping WireGuard uses. Peers that"
                    + " have not registered yet are asked again every --delay seconds. A peer that"
                    + " already has a recent WireGuard handshake on another endpoint is left alone.",
            "",
            "Example:  natpunch client wg0 demo.example.net:12345 1rwvlEQkF6vL4jA1gRzlTM7I3tuZHtdq8qkLMwBs8Uw=",
            ""
        })
final class ClientCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "WIREGUARD_INTERFACE",
            description = "The WireGuard interface whose peers to resolve, e.g. wg0.")
    String interfaceName;

    @Parameters(index = "1", paramLabel = "SERVER_HOSTNAME:PORT",
            description = "The rendezvous server, e.g. demo.example.net:12345 or [2001:db8::1]:12345.")
    String server;

    @Parameters(index = "2", paramLabel = "SERVER_PUBKEY", converter = KeyConverter.class,
            description = "The server's public key, as it printed on start.")
    Key serverKey;

    @Option(names = {"-c", "--continuous"}, defaultValue = "false",
            description = "Keep resolving after every peer is found, following peers whose"
                    + " address changes (default: ${DEFAULT-VALUE}).")
    boolean continuous;

    @Option(names = {"-d", "--delay"}, paramLabel = "SECONDS", defaultValue = "2",
            description = "Time to wait between retries, in seconds (default: ${DEFAULT-VALUE}).")
    double delaySeconds;

    @Option(names = {"-k", "--keepalive"}, paramLabel = "SECONDS", defaultValue = "25",
            description = "Persistent keepalive set on each resolved peer; it keeps both NAT"
                    + " mappings open (default: ${DEFAULT-VALUE}).")
    int keepalive;

    @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", defaultValue = "0",
            description = "Give up on peers not found, or on a server that does not answer,"
                    + " after this long; 0 keeps trying, as natpunch-go does (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--verify", paramLabel = "SECONDS", defaultValue = "15",
            description = "After setting endpoints, wait this long for WireGuard handshakes that"
                    + " prove each direct path; 0 does not wait (default: ${DEFAULT-VALUE}).")
    long verifySeconds;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
            description = "How to talk to WireGuard: auto, uapi (wireguard-go, boringtun),"
                    + " netlink (kernel module) or wg (the wg command) (default: ${DEFAULT-VALUE}).")
    String backend;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress serverAddress = HostPort.parse(server);
        if (delaySeconds <= 0 || timeoutSeconds < 0 || verifySeconds < 0) {
            throw new Errors.UsageException("--delay must be positive; --timeout and --verify must"
                    + " not be negative");
        }
        if (keepalive < 1 || keepalive > 65535) {
            throw new Errors.UsageException("--keepalive must be 1 to 65535 seconds, not " + keepalive);
        }
        WireguardControl control = control();
        return ClientPrivileges.callWithLeastPrivilege(backend, interfaceName,
                () -> resolve(serverAddress, control));
    }

    private int resolve(InetSocketAddress serverAddress, WireguardControl control) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Printer printer = new Printer(out, serverAddress);
        Duration timeout = timeoutSeconds == 0 ? Duration.ofDays(36500) : Duration.ofSeconds(timeoutSeconds);
        try (PeerResolver resolver = PeerResolver.builder()
                .interfaceName(interfaceName)
                .server(serverAddress.getHostString(), serverAddress.getPort())
                .serverKey(serverKey)
                .wireguard(control)
                .retryDelay(Duration.ofMillis((long) (delaySeconds * 1000)))
                .persistentKeepalive(keepalive)
                .timeout(timeout)
                .verifyHandshake(Duration.ofSeconds(verifySeconds))
                .listener(printer)
                .build()) {
            Runtime.getRuntime().addShutdownHook(new Thread(resolver::close, "natpunch-shutdown"));
            if (continuous) {
                resolver.runContinuously();
                return 0;
            }
            ResolveReport report = resolver.resolveAll();
            out.println(summary(report));
            out.flush();
            return report.allResolved() ? 0 : Main.EXIT_INCOMPLETE;
        }
    }

    private WireguardControl control() {
        switch (backend) {
            case "auto":
                return WireguardControl.automatic();
            case "uapi":
                return WireguardControl.uapi();
            case "netlink":
                return WireguardControl.netlink();
            case "wg":
                return WireguardControl.wgCommand();
            default:
                throw new Errors.UsageException("unknown --backend '" + backend
                        + "': use auto, uapi, netlink or wg");
        }
    }

    static String summary(ResolveReport report) {
        StringBuilder s = new StringBuilder();
        s.append(report.interfaceName()).append(": ").append(report.peers().size())
                .append(report.peers().size() == 1 ? " peer" : " peers");
        String sep = ": ";
        for (Map.Entry<PeerStatus, Long> e : report.counts().entrySet()) {
            s.append(sep).append(e.getValue()).append(' ').append(Printer.words(e.getKey()));
            sep = ", ";
        }
        return s.toString();
    }

    /** One line per peer state change, for people and for grep. */
    static final class Printer implements ResolveListener {
        private final PrintWriter out;
        private final InetSocketAddress server;
        private boolean registered;

        Printer(PrintWriter out, InetSocketAddress server) {
            this.out = out;
            this.server = server;
        }

        @Override
        public void onServerHandshake(InetSocketAddress address) {
            if (!registered) {
                out.println("Registered with " + HostPort.format(address));
                registered = true;
            } else {
                out.println("Registered again with " + HostPort.format(address));
            }
            out.flush();
        }

        @Override
        public void onPeer(PeerResult r) {
            StringBuilder line = new StringBuilder("peer ").append(r.peer().toBase64()).append(": ")
                    .append(words(r.status()));
            r.endpoint().ifPresent(e -> line.append(' ').append(HostPort.format(e)));
            r.error().ifPresent(e -> line.append(" (").append(e).append(')'));
            out.println(line);
            out.flush();
        }

        @Override
        public void onRetry(String what, Exception cause) {
            out.println("retrying " + what + " (" + HostPort.format(server) + "): " + Errors.message(cause));
            out.flush();
        }

        static String words(PeerStatus status) {
            switch (status) {
                case CONNECTED:
                    return "connected";
                case RESOLVED:
                    return "endpoint set";
                case NO_HANDSHAKE:
                    return "endpoint set, no handshake";
                case ALREADY_CONNECTED:
                    return "already connected";
                case NOT_FOUND:
                    return "not registered yet";
                default:
                    return "error";
            }
        }
    }
}
