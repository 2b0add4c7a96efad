package dev.natpunch.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code natpunch} command: entry point, logging set-up and error handling. */
@Command(
        name = "natpunch",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
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

    /** The subcommands, by name, in the order the usage lists them. */
    private static final Map<String, Supplier<Object>> SUBCOMMANDS = new LinkedHashMap<>();

    static {
        SUBCOMMANDS.put("server", ServerCommand::new);
        SUBCOMMANDS.put("relay", RelayCommand::new);
        SUBCOMMANDS.put("client", ClientCommand::new);
        SUBCOMMANDS.put("genkey", GenkeyCommand::new);
        SUBCOMMANDS.put("pubkey", PubkeyCommand::new);
        SUBCOMMANDS.put("netcheck", NetcheckCommand::new);
        SUBCOMMANDS.put("status", StatusCommand::new);
        SUBCOMMANDS.put("help", CommandLine.HelpCommand::new);
    }

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
        if (invoked(args).equals("client")) {
            ClientWarmup.start();
        }
        CommandLine cli = commandLine(args);
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler(new Errors());
        cli.setParameterExceptionHandler(new Errors());
        return cli.execute(args);
    }

    /**
     * The command line for {@code args}. picocli builds a subcommand's model by reflection, which
     * for the six that a run does not use costs about 15 ms of start-up, so a command line that
     * names one subcommand (after the global {@code -v}) gets only that one; any other (help, a typo, no subcommand) gets all, for
     * the usage and picocli's suggestions.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(new Main());
        String invoked = invoked(args);
        boolean one = !invoked.equals("help") && SUBCOMMANDS.containsKey(invoked);
        SUBCOMMANDS.forEach((name, command) -> {
            if (!one || name.equals(invoked)) {
                cli.addSubcommand(name, command.get());
            }
        });
        return cli;
    }

    /** The first argument that is not the global {@code -v}: the subcommand, if any. */
    private static String invoked(String... args) {
        return Arrays.stream(args).filter(a -> !a.equals("-v") && !a.equals("--verbose"))
                .findFirst().orElse("help");
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
