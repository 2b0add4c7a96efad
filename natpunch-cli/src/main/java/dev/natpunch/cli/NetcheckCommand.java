package dev.natpunch.cli;

import dev.natpunch.client.NatReport;
import dev.natpunch.client.NetCheck;
import dev.natpunch.crypto.Key;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "netcheck",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Measures the NAT in front of this machine with a natpunch-java rendezvous server that"
                    + " offers NAT probing (natpunch server --probe-port PORT): whether its mapping is"
                    + " the same for every destination (hole punching works) or symmetric (a new"
                    + " public port per destination: two such peers need a relay), how it filters"
                    + " incoming packets, and whether it keeps the local port. Needs no privileges.",
            "",
            "Example:  natpunch netcheck demo.example.net:12345 1rwvlEQkF6vL4jA1gRzlTM7I3tuZHtdq8qkLMwBs8Uw=",
            ""
        })
final class NetcheckCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SERVER_HOSTNAME:PORT",
            description = "The rendezvous server, e.g. demo.example.net:12345 or [2001:db8::1]:12345.")
    String server;

    @Parameters(index = "1", paramLabel = "SERVER_PUBKEY", converter = KeyConverter.class,
            description = "The server's public key, as it printed on start.")
    Key serverKey;

    @Option(names = "--json", defaultValue = "false", description = "Print the result as one JSON object.")
    boolean json;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
            description = "Local UDP port to probe from, e.g. a free port next to WireGuard's; 0 is any"
                    + " free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new Errors.UsageException("--port must be 0 to 65535, not " + port);
        }
        InetSocketAddress named = HostPort.parse(server);
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(InetAddress.getByName(named.getHostString()), named.getPort());
        } catch (UnknownHostException e) {
            throw new java.io.IOException("cannot resolve the server name '" + named.getHostString()
                    + "': check the spelling and this machine's DNS", e);
        }
        NatReport report = NetCheck.builder(address, serverKey).localPort(port).build().run();
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? report.toJson() + "\n" : report.describe());
        out.flush();
        return 0;
    }
}
