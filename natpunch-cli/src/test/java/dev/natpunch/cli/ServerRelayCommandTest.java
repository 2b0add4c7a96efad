package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** {@code natpunch server --relay}: what it refuses, in one line each, and a server that starts with a relay. */
class ServerRelayCommandTest {

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static void assertUsage(String expected, String... args) {
        Run r = run(args);
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(expected), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("error:")).count(), r.err());
    }

    @Test
    void refusesARelayWithoutAnAddressClientsCanReach() {
        assertUsage("add --relay-address ADDRESS (or --bind ADDRESS)", "server", "--relay", "12345");
        assertUsage("add --relay-address ADDRESS", "server", "--bind", "0.0.0.0", "--relay", "12345");
    }

    @Test
    void refusesARangeThatHoldsTheServerPortOrIsNotARange() {
        assertUsage("holds the server's port 40500", "server", "--bind", "127.0.0.1", "--relay", "40500");
        assertUsage("holds the server's port 40500", "server", "--bind", "127.0.0.1", "40500", "--relay");
        assertUsage("is not a port range FIRST-LAST", "server", "--bind", "127.0.0.1", "--relay=4000", "12345");
        assertUsage("at least two ports", "server", "--bind", "127.0.0.1", "--relay=4000-4000", "12345");
        assertUsage("within 1-65535", "server", "--bind", "127.0.0.1", "--relay=0-10", "12345");
    }

    @Test
    void refusesBadRelaySettings() {
        assertUsage("--relay-bandwidth must be 0", "server", "--bind", "127.0.0.1", "--relay", "--relay-bandwidth", "-1", "12345");
        assertUsage("--relay-idle must be 1 to 65535", "server", "--bind", "127.0.0.1", "--relay", "--relay-idle", "0", "12345");
        assertUsage("one address per family", "server", "--relay", "--relay-address", "127.0.0.1",
                "--relay-address", "127.0.0.2", "12345");
        assertUsage("cannot tell clients to send to 0.0.0.0", "server", "--relay", "--relay-address", "0.0.0.0", "12345");
    }

    @Test
    void aServerWithARelayStartsBothAndSaysWhere() throws Exception {
        int first = ThreadLocalRandom.current().nextInt(10_000, 31_000);
        String range = first + "-" + (first + 9);
        try (CliProcess p = CliProcess.start(List.of(), "", "server", "--bind", "127.0.0.1", "--relay=" + range,
                "--relay-address", "127.0.0.1", "0")) {
            assertNotNull(p.awaitLine("Public key: ", 60), p.err());
            assertTrue(p.err().contains("Relay on 127.0.0.1 ports " + range), p.err());
        }
    }
}
