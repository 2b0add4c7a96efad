package dev.natpunch.cli;

import dev.natpunch.client.PeerEndpoint;
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
import java.util.ArrayList;
import java.util.List;
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
                    + " have not registered yet are asked again every --delay seconds (or as soon as"
                    + " the server pushes them). A peer that already has a recent WireGuard handshake"
                    + " on another endpoint is left alone. With --continuous it also picks up peers"
                    + " added to the interface while it runs (it looks every 0.5 s), and may start"
                    + " before the interface has any.",
            "",
            "With a natpunch-java server it speaks protocol version 2: all peers are looked up in"
                    + " a few datagrams, the server pushes peers that register later (no polling),"
                    + " IPv6 endpoints and LAN addresses (for peers behind the same NAT) are used. With"
                    + " a natpunch-go server it speaks version 1, exactly as natpunch-go does. Give"
                    + " several servers with --server: it registers with all of them, so one going"
                    + " down changes nothing.",
            "",
            "Examples:",
            "  natpunch client wg0 demo.example.net:12345 1rwvlEQkF6vL4jA1gRzlTM7I3tuZHtdq8qkLMwBs8Uw=",
            "  natpunch client -c wg0 --server a.example.net:12345=1rwvlEQkF6vL4jA1gRzlTM7I3tuZHtdq8qkLMwBs8Uw= \\",
            "                         --server [2001:db8::7]:12345=<THE SECOND SERVER'S PUBLIC KEY>",
            ""
        })
final class ClientCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "WIREGUARD_INTERFACE",
            description = "The WireGuard interface whose peers to resolve, e.g. wg0.")
    String interfaceName;

    @Parameters(index = "1", arity = "0..1", paramLabel = "SERVER_HOSTNAME:PORT",
            description = "The rendezvous server, e.g. demo.example.net:12345 or [2001:db8::1]:12345"
                    + " (natpunch-go's form; or use --server).")
    String server;

    @Parameters(index = "2", arity = "0..1", paramLabel = "SERVER_PUBKEY", converter = KeyConverter.class,
            description = "The server's public key, as it printed on start.")
    Key serverKey;

    @Option(names = "--server", paramLabel = "HOST:PORT=PUBKEY",
            description = "A rendezvous server and its public key; repeat it for several servers.")
    List<String> servers = new ArrayList<>();

    @Option(names = "--no-relay", defaultValue = "false",
            description = "Never fall back to a server's relay for a peer that no direct path reaches"
                    + " (by default such a peer, e.g. behind a symmetric NAT on both sides, is relayed"
                    + " through a server started with --relay, and moved back to a direct path once"
                    + " one works).")
    boolean noRelay;

    @Option(names = "--protocol", paramLabel = "VERSION", defaultValue = "2",
            description = "Highest protocol version to speak: 2 falls back to 1 with servers that do"
                    + " not offer it; 1 behaves exactly like natpunch-go (default: ${DEFAULT-VALUE}).")
    int protocol;

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
        if (server == null && servers.isEmpty()) {
            throw new Errors.UsageException("no rendezvous server: give SERVER_HOSTNAME:PORT SERVER_PUBKEY"
                    + " or --server HOST:PORT=PUBKEY");
        }
        if (server != null && serverKey == null) {
            throw new Errors.UsageException("the server " + server + " needs its public key after it"
                    + " (SERVER_PUBKEY), as the server printed on start");
        }
        if (protocol != 1 && protocol != 2) {
            throw new Errors.UsageException("--protocol must be 1 or 2, not " + protocol);
        }
        List<InetSocketAddress> addresses = new ArrayList<>();
        List<Key> keys = new ArrayList<>();
        if (server != null) {
            addresses.add(HostPort.parse(server));
            keys.add(serverKey);
        }
        for (String spec : servers) {
            int keyStart = spec.indexOf('=');
            if (keyStart < 0 || keyStart == spec.length() - 1) {
                throw new Errors.UsageException("--server " + spec + ": write HOST:PORT=PUBKEY, e.g."
                        + " demo.example.net:12345=1rwvlEQkF6vL4jA1gRzlTM7I3tuZHtdq8qkLMwBs8Uw=");
            }
            addresses.add(HostPort.parse(spec.substring(0, keyStart)));
            keys.add(new KeyConverter().convert(spec.substring(keyStart + 1)));
        }
        if (delaySeconds <= 0 || timeoutSeconds < 0 || verifySeconds < 0) {
            throw new Errors.UsageException("--delay must be positive; --timeout and --verify must"
                    + " not be negative");
        }
        if (keepalive < 1 || keepalive > 65535) {
            throw new Errors.UsageException("--keepalive must be 1 to 65535 seconds, not " + keepalive);
        }
        WireguardControl control = control();
        return ClientPrivileges.callWithLeastPrivilege(backend, interfaceName,
                () -> resolve(addresses, keys, control));
    }

    private int resolve(List<InetSocketAddress> addresses, List<Key> keys, WireguardControl control) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Printer printer = new Printer(out, addresses.get(0), new StateFile(interfaceName));
        Duration timeout = timeoutSeconds == 0 ? Duration.ofDays(36500) : Duration.ofSeconds(timeoutSeconds);
        PeerResolver.Builder builder = PeerResolver.builder();
        for (int i = 0; i < addresses.size(); i++) {
            builder.addServer(addresses.get(i).getHostString(), addresses.get(i).getPort(), keys.get(i));
        }
        try (PeerResolver resolver = builder
                .interfaceName(interfaceName)
                .protocolVersion(protocol)
                .relay(!noRelay)
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
        private final java.util.Set<InetSocketAddress> registered = new java.util.HashSet<>();
        private final StateFile state;

        Printer(PrintWriter out, InetSocketAddress server, StateFile state) {
            this.out = out;
            this.server = server;
            this.state = state;
        }

        @Override
        public void onServerHandshake(InetSocketAddress address) {
            if (registered.add(address)) {
                out.println("Registered with " + HostPort.format(address));
            } else {
                out.println("Registered again with " + HostPort.format(address));
            }
            out.flush();
        }

        @Override
        public void onPush(Key peer, List<PeerEndpoint> endpoints) {
            out.println("peer " + peer.toBase64() + ": " + (endpoints.isEmpty() ? "gone from the server"
                    : "pushed " + endpoints.stream().map(e -> HostPort.format(e.address()))
                            .collect(java.util.stream.Collectors.joining(", "))));
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
            state.update(r, stateName(r.status()));
        }

        @Override
        public void onRetry(String what, Exception cause) {
            String where = what.equals("the rendezvous server") ? " (" + HostPort.format(server) + ")" : "";
            out.println("retrying " + what + where + ": " + Errors.message(cause));
            out.flush();
        }

        /** The state names of issue 5 and {@code natpunch status}. */
        static String stateName(PeerStatus status) {
            return switch (status) {
                case CONNECTED, ALREADY_CONNECTED -> "direct";
                case RELAYED -> "relayed";
                case RESOLVED -> "endpoint-set";
                case NO_HANDSHAKE -> "unreachable";
                case NOT_FOUND -> "not-registered";
                case ERROR -> "error";
            };
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
                case RELAYED:
                    return "relayed";
                case NOT_FOUND:
                    return "not registered yet";
                default:
                    return "error";
            }
        }
    }
}
