package dev.natpunch.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code natpunch} command: entry point, logging set-up and error handling. */
@Command(
        name = "natpunch",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        subcommands = {
            ServerCommand.class,
            RelayCommand.class,
            ClientCommand.class,
            GenkeyCommand.class,
            PubkeyCommand.class,
            NetcheckCommand.class,
            StatusCommand.class,
            CommandLine.HelpCommand.class
        },
        description = {
            "Connects WireGuard peers that sit behind NATs directly to each other (UDP hole"
                    + " punching), with a small rendezvous server that tells each peer where the"
                    + " others are. No traffic goes through the server.",
            "",
            "  1. On a host with a public address:  natpunch server 12345",
            "     It prints its public key.",
            "  2. On every peer (root):  natpunch client wg0 SERVER:12345 SERVER_PUBLIC_KEY",
            "     It registers wg0's NAT mapping and sets every peer's endpoint.",
            "  Peers that no direct path reaches (symmetric NATs on both sides) can be relayed:",
            "  natpunch server --relay ..., or natpunch relay on a host of its own (natpunch help relay).",
            ""
        },
        footerHeading = "%nExit status:%n",
        footer = {
            "  0  done",
            "  1  failed (the message says why and what to do)",
            "  2  bad usage or arguments",
            "  3  the client finished, but not every peer is connected",
        })
public final class Main {
    static final int EXIT_INCOMPLETE = 3;

    @Option(names = {"-v", "--verbose"}, description = "Log more (debug level).", scope = CommandLine.ScopeType.INHERIT)
    void verbose(boolean on) {
        if (on) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "debug");
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    static int run(PrintWriter out, PrintWriter err, String... args) {
        configureLogging();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler(new Errors());
        cli.setParameterExceptionHandler(new Errors());
        return cli.execute(args);
    }

    /** slf4j-simple reads its settings once, from system properties, before the first logger. */
    private static void configureLogging() {
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", "info");
        setDefault("org.slf4j.simpleLogger.showDateTime", "true");
        setDefault("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        setDefault("org.slf4j.simpleLogger.showThreadName", "false");
        setDefault("org.slf4j.simpleLogger.showShortLogName", "true");
        setDefault("org.slf4j.simpleLogger.levelInBrackets", "true");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"natpunch " + (v != null ? v : "(development build)")};
        }
    }
}
