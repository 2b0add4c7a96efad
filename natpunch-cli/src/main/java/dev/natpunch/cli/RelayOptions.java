package dev.natpunch.cli;

import dev.natpunch.relay.Relay;
import java.net.InetAddress;
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

/** {@code server --relay} and its settings: an embedded relay for pairs behind symmetric NATs. */
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

    boolean enabled() {
        return range != null;
    }

    /**
     * The relay these options describe, not started.
     *
     * @param serverPort the rendezvous port, which relay ports must never be (protocol-v2.md 3.8)
     * @param serverBind the server's --bind address, the default relay address; may be null
     */
    Relay build(int serverPort, InetAddress serverBind) {
        int[] ports = parseRange(range);
        if (serverPort >= ports[0] && serverPort <= ports[1]) {
            throw new Errors.UsageException("the relay range " + range + " holds the server's port " + serverPort
                    + ": choose a range without it, e.g. --relay=40000-40999");
        }
        Relay.Builder b = Relay.builder().portRange(ports[0], ports[1]);
        if (addresses.isEmpty()) {
            if (serverBind == null || serverBind.isAnyLocalAddress()) {
                throw new Errors.UsageException("--relay needs the address clients reach this host at:"
                        + " add --relay-address ADDRESS (or --bind ADDRESS)");
            }
            b.address(serverBind);
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
                throw new Errors.UsageException("--relay-address " + a + ": " + e.getMessage());
            }
        }
        if (megabitsPerSecond != null) {
            if (megabitsPerSecond < 0 || megabitsPerSecond > 1_000_000) {
                throw new Errors.UsageException("--relay-bandwidth must be 0 (no limit) to 1000000 Mbit/s, not "
                        + megabitsPerSecond);
            }
            long bytes = megabitsPerSecond * 125_000;
            b.bandwidthLimit(bytes, bytes / 4);
        }
        if (idleSeconds != null) {
            if (idleSeconds < 1 || idleSeconds > 65_535) {
                throw new Errors.UsageException("--relay-idle must be 1 to 65535 seconds, not " + idleSeconds);
            }
            b.idleTimeout(Duration.ofSeconds(idleSeconds));
        }
        if (maxPerClient != null) {
            if (maxPerClient < 1) {
                throw new Errors.UsageException("--relay-max-per-client must be at least 1, not " + maxPerClient);
            }
            b.maxAllocationsPerClient(maxPerClient);
        }
        return b.build();
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
