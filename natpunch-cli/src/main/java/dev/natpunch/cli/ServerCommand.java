package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.server.RendezvousServer;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Runs the rendezvous server: it records, for each WireGuard public key, the address and"
                    + " port its NAT mapping has from the outside, and tells authenticated peers where"
                    + " the others are. It needs no root, and relays no traffic unless --relay is given (or hands"
                    + " relaying to 'natpunch relay' on another host with --relay-server).",
            "",
            "It speaks natpunch-go's protocol, so natpunch-go clients can use it too. On start it"
                    + " prints 'Public key: <base64>': give that to every client. Without"
                    + " PRIVATE_KEY a new key is made on every start, so pass one (or"
                    + " --private-key-file) to keep the public key stable.",
            "",
            "Example:  natpunch genkey > server.key && natpunch server --private-key-file server.key 12345",
            ""
        })
final class ServerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PORT",
            description = "UDP port to listen on (1-65535; 0 picks a free one).")
    int port;

    @Parameters(index = "1", arity = "0..1", paramLabel = "PRIVATE_KEY",
            description = "The server's private key in base64 (as natpunch-go takes it), or '-' to"
                    + " read it from standard input. Prefer --private-key-file or '-': a key on the"
                    + " command line is visible to other users in the process list.")
    String privateKeyArgument;

    @Option(names = "--private-key-file", paramLabel = "FILE",
            description = "Read the private key from FILE ('-' for standard input); warns when"
                    + " other users can read FILE.")
    Path privateKeyFile;

    @Option(names = "--bind", paramLabel = "ADDRESS",
            description = "Listen on this local address only (default: every IPv4 and IPv6 address;"
                    + " version 1 answers carry IPv4 endpoints, so peers must register over IPv4).")
    InetAddress bind;

    @Option(names = "--registration-ttl", paramLabel = "SECONDS",
            description = "Forget a client not heard from for this long (default: 1800).")
    Long registrationTtlSeconds;

    @Option(names = "--max-registrations", paramLabel = "N",
            description = "Register at most N keys; new clients are refused beyond that"
                    + " (default: 1000000).")
    Integer maxRegistrations;

    @Option(names = "--handshake-rate", paramLabel = "PER_SECOND",
            description = "Handshakes accepted per second from one source address (IPv6: one /64),"
                    + " with bursts of twice that; they cost the server real CPU, so a flood is"
                    + " capped. 0 turns the limit off (default: 20).")
    Integer handshakeRate;

    @Option(names = "--listen", paramLabel = "ADDR:PORT",
            description = "Listen on this address and port instead of PORT and --bind; repeat it for"
                    + " several, e.g. --listen 198.51.100.7:3000 --listen [2001:db8::7]:3000 for IPv4"
                    + " and IPv6 (version 2 clients register both families; INFO tells them where)."
                    + " PORT is then ignored. [::]:PORT alone already takes IPv4 too.")
    java.util.List<String> listen = new java.util.ArrayList<>();

    @Option(names = "--probe-port", paramLabel = "PORT",
            description = "Answer NAT behaviour probes (natpunch netcheck) from this second UDP port"
                    + " on every listen address; must differ from the rendezvous port.")
    Integer probePort;

    @Option(names = "--probe-address", paramLabel = "ADDRESS",
            description = "A second address of this host for NAT probes (one per family, repeatable),"
                    + " so that probes can tell address-dependent from endpoint-independent mappings.")
    java.util.List<InetAddress> probeAddresses = new java.util.ArrayList<>();

    @Option(names = "--allow-file", paramLabel = "FILE",
            description = "Serve only the public keys in FILE (one base64 key per line, # comments);"
                    + " other keys are never registered and look unregistered to everyone. The file is"
                    + " re-read within a second of a change; a broken file keeps the previous list.")
    Path allowFile;

    @Option(names = "--mutual",
            description = "Show a peer's address to a client only if that peer asked for the client"
                    + " too (both list each other as peers).")
    boolean mutual;

    @Mixin
    RelayOptions relay = new RelayOptions();

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads (default: one per core).")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new Errors.UsageException("PORT must be 0 to 65535, not " + port);
        }
        if (privateKeyArgument != null && privateKeyFile != null) {
            throw new Errors.UsageException("give the private key either as PRIVATE_KEY or with"
                    + " --private-key-file, not both");
        }
        Key key = privateKey();
        KeyPair keys = key != null ? KeyPair.fromPrivateKey(key) : KeyPair.generate();
        try {
            return serve(keys, key == null);
        } finally {
            keys.destroy();
        }
    }

    private Key privateKey() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (privateKeyFile != null) {
            return KeyFiles.read(privateKeyFile, err);
        }
        if (privateKeyArgument == null) {
            return null;
        }
        if (privateKeyArgument.equals("-")) {
            return KeyFiles.read(Path.of("-"), err);
        }
        Key key;
        try {
            key = Key.fromBase64(privateKeyArgument);
        } catch (IllegalArgumentException e) {
            throw new Errors.UsageException("PRIVATE_KEY: " + e.getMessage());
        }
        err.println("Warning: a private key on the command line is visible to every user of this"
                + " machine (ps, /proc); use --private-key-file FILE, or '-' to read it from standard input");
        err.flush();
        return key;
    }

    /** "198.51.100.7:3000", "[2001:db8::7]:3000" or "[::]:3000"; a literal address, no name lookup. */
    static java.net.InetSocketAddress listenAddress(String text) {
        int colon = text.lastIndexOf(':');
        String host = colon > 0 ? text.substring(0, colon) : "";
        String portText = colon > 0 ? text.substring(colon + 1) : "";
        boolean bracketed = host.startsWith("[") && host.endsWith("]");
        if (bracketed) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            host = "";
        }
        int p;
        try {
            p = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            p = -1;
        }
        boolean literal = host.matches("[0-9.]+") || bracketed && host.matches("[0-9a-fA-F:.]+");
        if (host.isEmpty() || p < 0 || p > 65535 || !literal) {
            throw new Errors.UsageException("--listen " + text + ": expected ADDRESS:PORT with an IP address,"
                    + " e.g. 0.0.0.0:3000 or [::]:3000 (IPv6 in brackets)");
        }
        try {
            return new java.net.InetSocketAddress(InetAddress.getByName(host), p);
        } catch (java.net.UnknownHostException e) {
            throw new Errors.UsageException("--listen " + text + ": not an IP address");
        }
    }

    private int serve(KeyPair keys, boolean ephemeral) throws Exception {
        RendezvousServer.Builder builder = RendezvousServer.builder()
                .port(port)
                .keyPair(keys);
        if (bind != null) {
            builder.bindAddress(bind);
        }
        if (registrationTtlSeconds != null) {
            builder.registrationTtl(Duration.ofSeconds(registrationTtlSeconds));
        }
        if (maxRegistrations != null) {
            builder.maxRegistrations(maxRegistrations);
        }
        if (threads != null) {
            builder.workerThreads(threads);
        }
        if (!listen.isEmpty()) {
            java.util.List<java.net.InetSocketAddress> at = new java.util.ArrayList<>();
            for (String l : listen) {
                at.add(listenAddress(l));
            }
            builder.listen(at.toArray(new java.net.InetSocketAddress[0]));
        }
        if (probePort != null) {
            if (probePort < 1 || probePort > 65535 || probePort == port && listen.isEmpty()) {
                throw new Errors.UsageException("--probe-port must be 1 to 65535 and differ from the"
                        + " rendezvous port, not " + probePort);
            }
            builder.probePort(probePort);
        }
        if (!probeAddresses.isEmpty()) {
            try {
                builder.alternateAddress(probeAddresses.toArray(new InetAddress[0]));
            } catch (IllegalArgumentException e) {
                throw new Errors.UsageException("--probe-address: " + e.getMessage());
            }
        }
        if (allowFile != null) {
            try {
                builder.allowFile(allowFile);
            } catch (java.io.IOException e) {
                throw new Errors.UsageException("--allow-file: " + e.getMessage());
            }
        }
        builder.mutual(mutual);
        if (handshakeRate != null) {
            if (handshakeRate < 0) {
                throw new Errors.UsageException("--handshake-rate must be 0 (off) or positive, not "
                        + handshakeRate);
            }
            builder.handshakeRateLimit(handshakeRate, handshakeRate * 2);
        }
        AutoCloseable relayed = relay.start(builder, keys, port, bind);
        try (relayed; RendezvousServer server = builder.build()) {
            server.start();
            // natpunch-go's two start-up lines, word for word: scripts read the key from them.
            PrintWriter out = spec.commandLine().getOut();
            out.println("Starting nat-punching server on port " + server.localAddress().getPort());
            out.println("Public key: " + server.publicKey().toBase64());
            out.flush();
            if (ephemeral) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("Warning: no private key given, so the public key changes on every start;"
                        + " keep one with 'natpunch genkey > server.key' and --private-key-file server.key");
                err.flush();
            }
            Shutdown.await(server);
        }
        return 0;
    }
}
