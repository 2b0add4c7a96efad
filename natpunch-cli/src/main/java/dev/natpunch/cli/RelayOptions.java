package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.relay.Relay;
import dev.natpunch.relay.RelayControlServer;
import dev.natpunch.relay.RemoteRelay;
import dev.natpunch.server.RendezvousServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import picocli.CommandLine.IParameterPreprocessor;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * {@code server --relay} and its settings (an embedded relay for pairs behind symmetric NATs), or
 * {@code server --relay-server} (a relay on another host); the settings are {@code natpunch relay}'s too.
 */
final class RelayOptions {

    static final String DEFAULT_RANGE = Relay.DEFAULT_FIRST_PORT + "-" + Relay.DEFAULT_LAST_PORT;

    @Option(names = "--relay", arity = "0..1", paramLabel = "FIRST-LAST", preprocessor = AttachedRangeOnly.class,
            fallbackValue = DEFAULT_RANGE,
            description = "Also relay WireGuard traffic for pairs of version 2 clients that cannot reach"
                    + " each other directly (both behind symmetric NATs): each relayed pair takes two"
                    + " UDP ports of this range (--relay=FIRST-LAST; default 40000-40999, which must"
                    + " not hold PORT). The"
                    + " relay forwards ciphertext only; it holds no WireGuard keys.")
    String range;

    @Option(names = "--relay-address", paramLabel = "ADDRESS[@BIND]",
            description = "The address clients send relayed traffic to, one per IPv4/IPv6 (default:"
                    + " --bind). Behind a 1:1 NAT, give the public address and the local one to bind,"
                    + " e.g. 203.0.113.7@0.0.0.0.")
    List<String> addresses = new ArrayList<>();

    @Option(names = "--relay-bandwidth", paramLabel = "MBIT_PER_SECOND",
            description = "Bandwidth limit of each relayed pair, both directions together"
                    + " (default: 100; 0 is no limit).")
    Long megabitsPerSecond;

    @Option(names = "--relay-idle", paramLabel = "SECONDS",
            description = "End a relayed pair's allocation after this long without traffic (default: 90).")
    Long idleSeconds;

    @Option(names = "--relay-max-per-client", paramLabel = "N",
            description = "Relayed pairs (and pending requests) one client key may take part in (default: 8).")
    Integer maxPerClient;

    /**
     * Takes a range only in the attached form {@code --relay=FIRST-LAST}, so that
     * {@code --relay 12345} means the default range and port 12345, not a range "12345".
     */
    static final class AttachedRangeOnly implements IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec command, ArgSpec arg, Map<String, Object> info) {
            if (" ".equals(info.get("separator"))) {
                args.push(DEFAULT_RANGE);
            }
            return false;
        }
    }

    @Option(names = "--relay-server", paramLabel = "HOST:PORT=PUBKEY",
            description = "Relay through 'natpunch relay' on another host instead of in this process:"
                    + " its control address and the public key it printed. That relay must list this"
                    + " server's public key with --allow-server. While it does not answer, relay"
                    + " requests get UNAVAILABLE and clients keep trying direct paths.")
    String remote;

    /**
     * Starts the relay these options ask for and gives it to {@code builder}: one in this process
     * (--relay) or one on another host (--relay-server), or none.
     *
     * @param serverPort the rendezvous port, which relay ports must never be (protocol-v2.md 3.8)
     * @param serverBind the server's --bind address, the default relay address; may be null
     * @return what to close after the server, or null
     */
    AutoCloseable start(RendezvousServer.Builder builder, KeyPair keys, int serverPort, InetAddress serverBind)
            throws IOException {
        if (remote != null) {
            return startRemote(builder, keys);
        }
        if (range == null) {
            return null;
        }
        Relay relay = settings().build("--relay-", "--relay=" + DEFAULT_RANGE, serverPort, "the server's port",
                serverBind);
        relay.start();
        builder.relay(relay);
        return relay;
    }

    private AutoCloseable startRemote(RendezvousServer.Builder builder, KeyPair keys) throws IOException {
        if (range != null) {
            throw new Errors.UsageException("give either --relay (a relay in this process) or --relay-server"
                    + " (natpunch relay on another host), not both");
        }
        if (!addresses.isEmpty() || megabitsPerSecond != null || idleSeconds != null || maxPerClient != null) {
            throw new Errors.UsageException("--relay-address, --relay-bandwidth, --relay-idle and"
                    + " --relay-max-per-client set up a relay in this process; with --relay-server give them to"
                    + " 'natpunch relay' on the relay host (--address, --bandwidth, --idle, --max-per-client)");
        }
        int keyStart = remote.indexOf('=');
        if (keyStart < 0 || keyStart == remote.length() - 1) {
            throw new Errors.UsageException("--relay-server " + remote + ": write HOST:PORT=PUBKEY, e.g."
                    + " relay.example.net:" + RelayControlServer.DEFAULT_PORT + "=<the key 'natpunch relay' printed>");
        }
        InetSocketAddress at = HostPort.parse(remote.substring(0, keyStart));
        Key relayKey;
        try {
            relayKey = new KeyConverter().convert(remote.substring(keyStart + 1));
        } catch (picocli.CommandLine.TypeConversionException e) {
            throw new Errors.UsageException("--relay-server: " + e.getMessage());
        }
        RemoteRelay relay = RemoteRelay.builder().relay(at, relayKey).keyPair(keys).build();
        try {
            relay.start();
        } catch (UnknownHostException e) {
            throw new Errors.UsageException("--relay-server: " + at.getHostString() + " does not resolve;"
                    + " check the name, or give the relay's address");
        }
        builder.relay(relay);
        return relay;
    }

    Settings settings() {
        return new Settings(range, addresses, megabitsPerSecond, idleSeconds, maxPerClient);
    }

    /**
     * A relay's settings as some command's options gave them, whatever the options are called
     * ({@code server --relay-idle}, {@code relay --idle}).
     */
    record Settings(String range, List<String> addresses, Long megabitsPerSecond, Long idleSeconds,
                    Integer maxPerClient) {

        /**
         * The relay these settings describe, not started.
         *
         * @param prefix what the options' names start with, e.g. "--relay-" or "--"
         * @param rangeExample the range option with the default range, as the user would write it
         * @param reservedPort a port of this host that relay ports must never be, and what it is
         * @param bind the command's --bind address, the default relay address; may be null
         */
        Relay build(String prefix, String rangeExample, int reservedPort, String reservedName, InetAddress bind) {
            int[] ports = parseRange(range);
            if (reservedPort >= ports[0] && reservedPort <= ports[1]) {
                throw new Errors.UsageException("the relay range " + range + " holds " + reservedName + " "
                        + reservedPort + ": choose a range without it, e.g. " + rangeExample);
            }
            Relay.Builder b = Relay.builder().portRange(ports[0], ports[1]);
            if (addresses.isEmpty()) {
                if (bind == null || bind.isAnyLocalAddress()) {
                    throw new Errors.UsageException("the relay needs the address clients reach this host at:"
                            + " add " + prefix + "address ADDRESS (or --bind ADDRESS)");
                }
                b.address(bind);
            }
            for (String a : addresses) {
                int at = a.indexOf('@');
                try {
                    if (at < 0) {
                        b.address(address(a));
                    } else {
                        b.address(address(a.substring(at + 1)), address(a.substring(0, at)));
                    }
                } catch (IllegalArgumentException e) {
                    throw new Errors.UsageException(prefix + "address " + a + ": " + e.getMessage());
                }
            }
            if (megabitsPerSecond != null) {
                if (megabitsPerSecond < 0 || megabitsPerSecond > 1_000_000) {
                    throw new Errors.UsageException(prefix + "bandwidth must be 0 (no limit) to 1000000 Mbit/s, not "
                            + megabitsPerSecond);
                }
                long bytes = megabitsPerSecond * 125_000;
                b.bandwidthLimit(bytes, bytes / 4);
            }
            if (idleSeconds != null) {
                if (idleSeconds < 1 || idleSeconds > 65_535) {
                    throw new Errors.UsageException(prefix + "idle must be 1 to 65535 seconds, not " + idleSeconds);
                }
                b.idleTimeout(Duration.ofSeconds(idleSeconds));
            }
            if (maxPerClient != null) {
                if (maxPerClient < 1) {
                    throw new Errors.UsageException(prefix + "max-per-client must be at least 1, not " + maxPerClient);
                }
                b.maxAllocationsPerClient(maxPerClient);
            }
            return b.build();
        }
    }

    /** FIRST-LAST, 1-65535, at least two ports. */
    static int[] parseRange(String text) {
        String[] parts = text.split("-", -1);
        int first;
        int last;
        try {
            if (parts.length != 2) {
                throw new NumberFormatException();
            }
            first = Integer.parseInt(parts[0].strip());
            last = Integer.parseInt(parts[1].strip());
        } catch (NumberFormatException e) {
            throw new Errors.UsageException("'" + text + "' is not a port range FIRST-LAST, e.g. 40000-40999");
        }
        if (first < 1 || last > 65535 || last <= first) {
            throw new Errors.UsageException("the port range " + text + " must lie within 1-65535 and hold at"
                    + " least two ports (each relayed pair takes two)");
        }
        return new int[] {first, last};
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal.strip());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + literal + "' is not an address of this host or a name that resolves");
        }
    }
}
