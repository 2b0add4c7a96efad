package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.relay.Relay;
import dev.natpunch.relay.RelayControlServer;
import dev.natpunch.server.AllowList;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "relay",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Runs a relay on its own host for one or more rendezvous servers. Pairs of WireGuard peers"
                    + " that cannot reach each other directly (behind symmetric NATs on both sides, as on"
                    + " many mobile networks) send their WireGuard datagrams through it: two UDP ports per"
                    + " pair, one facing each peer. It forwards ciphertext only and holds no WireGuard keys;"
                    + " it needs no root.",
            "",
            "Rendezvous servers drive it over an authenticated, encrypted control channel on PORT"
                    + " (UDP): a server started with --relay-server HOST:PORT=RELAY_PUBKEY opens a session"
                    + " with its own key, which must be listed here with --allow-server. Clients need"
                    + " nothing new: they ask their server, as with 'natpunch server --relay', and only"
                    + " the server needs to reach PORT (firewall it to the servers if you like).",
            "",
            "On start it prints 'Public key: <base64>': give that to the servers. Without"
                    + " --private-key-file a new key is made on every start.",
            "",
            "Example: a relay on 203.0.113.9 for a rendezvous server on 198.51.100.7",
            "  server$ natpunch pubkey < server.key             # prints SERVER_PUBKEY",
            "  relay$  umask 077; natpunch genkey > relay.key",
            "  relay$  natpunch relay --private-key-file relay.key --address 203.0.113.9 \\",
            "              --allow-server SERVER_PUBKEY 3479     # prints RELAY_PUBKEY",
            "  server$ natpunch server --private-key-file server.key \\",
            "              --relay-server 203.0.113.9:3479=RELAY_PUBKEY 12345",
            ""
        })
final class RelayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PORT",
            description = "UDP control port the rendezvous servers reach (default: 3479; 0 picks a free one).")
    int port = RelayControlServer.DEFAULT_PORT;

    @Option(names = "--private-key-file", paramLabel = "FILE",
            description = "Read the relay's private key from FILE ('-' for standard input); warns when"
                    + " other users can read FILE.")
    Path privateKeyFile;

    @Option(names = "--allow-server", paramLabel = "PUBKEY",
            description = "A rendezvous server's public key (what 'natpunch server' prints) that may use"
                    + " this relay; repeat it for several servers. Other keys get no answer.")
    List<String> allowServers = new ArrayList<>();

    @Option(names = "--allow-server-file", paramLabel = "FILE",
            description = "More server keys, one base64 key per line (# comments), read on start.")
    Path allowServerFile;

    @Option(names = "--bind", paramLabel = "ADDRESS",
            description = "Listen for control on this local address only (default: every address), which"
                    + " is also the relay address when --address is not given.")
    InetAddress bind;

    @Option(names = "--address", paramLabel = "ADDRESS[@BIND]",
            description = "The address clients send relayed traffic to, one per IPv4/IPv6 (default:"
                    + " --bind). Behind a 1:1 NAT, give the public address and the local one to bind,"
                    + " e.g. 203.0.113.9@0.0.0.0.")
    List<String> addresses = new ArrayList<>();

    @Option(names = "--ports", paramLabel = "FIRST-LAST",
            description = "UDP ports for relayed pairs, two per pair (default: " + RelayOptions.DEFAULT_RANGE
                    + "; must not hold PORT).")
    String range = RelayOptions.DEFAULT_RANGE;

    @Option(names = "--bandwidth", paramLabel = "MBIT_PER_SECOND",
            description = "Bandwidth limit of each relayed pair, both directions together"
                    + " (default: 100; 0 is no limit).")
    Long megabitsPerSecond;

    @Option(names = "--idle", paramLabel = "SECONDS",
            description = "End a relayed pair's allocation after this long without traffic (default: 90).")
    Long idleSeconds;

    @Option(names = "--max-per-client", paramLabel = "N",
            description = "Relayed pairs (and pending requests) one client key may take part in (default: 8).")
    Integer maxPerClient;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new Errors.UsageException("PORT must be 0 to 65535, not " + port);
        }
        Set<Key> servers = allowedServers();
        PrintWriter err = spec.commandLine().getErr();
        Key key = privateKeyFile != null ? KeyFiles.read(privateKeyFile, err) : null;
        KeyPair keys = key != null ? KeyPair.fromPrivateKey(key) : KeyPair.generate();
        try {
            return serve(keys, servers, key == null);
        } finally {
            keys.destroy();
        }
    }

    private Set<Key> allowedServers() throws IOException {
        Set<Key> keys = new LinkedHashSet<>();
        KeyConverter converter = new KeyConverter();
        for (String k : allowServers) {
            try {
                keys.add(converter.convert(k));
            } catch (picocli.CommandLine.TypeConversionException e) {
                throw new Errors.UsageException("--allow-server " + k + ": " + e.getMessage());
            }
        }
        if (allowServerFile != null) {
            try {
                keys.addAll(AllowList.parse(allowServerFile));
            } catch (NoSuchFileException e) {
                throw new Errors.UsageException("--allow-server-file: no file " + allowServerFile);
            } catch (IOException e) {
                throw new Errors.UsageException("--allow-server-file: " + e.getMessage());
            }
        }
        if (keys.isEmpty()) {
            throw new Errors.UsageException("the relay would serve no rendezvous server: add --allow-server"
                    + " SERVER_PUBKEY (the key 'natpunch server' prints) or --allow-server-file FILE");
        }
        return keys;
    }

    private int serve(KeyPair keys, Set<Key> servers, boolean ephemeral) throws Exception {
        Relay relay = new RelayOptions.Settings(range, addresses, megabitsPerSecond, idleSeconds, maxPerClient)
                .build("--", "--ports " + RelayOptions.DEFAULT_RANGE, port, "the control port", bind);
        InetSocketAddress listen = bind != null ? new InetSocketAddress(bind, port) : new InetSocketAddress(port);
        try (relay; RelayControlServer control = RelayControlServer.builder().relay(relay).keyPair(keys)
                .listen(listen).allowServers(servers).build()) {
            relay.start();
            control.start();
            PrintWriter out = spec.commandLine().getOut();
            out.println("Starting relay, control port " + control.localAddress().getPort());
            out.println("Public key: " + control.publicKey().toBase64());
            out.flush();
            if (ephemeral) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("Warning: no --private-key-file, so the public key changes on every start and every"
                        + " server must be given the new one; keep one with 'natpunch genkey > relay.key'");
                err.flush();
            }
            Shutdown.await(control, relay);
        }
        return 0;
    }
}
