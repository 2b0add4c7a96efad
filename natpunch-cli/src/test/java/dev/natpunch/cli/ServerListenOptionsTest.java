package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The server's --listen ADDRESS:PORT form: literal IPv4, bracketed IPv6, nothing else. */
class ServerListenOptionsTest {
    @Test
    void listenTakesLiteralAddressesWithIpv6InBrackets() throws Exception {
        assertEquals(new InetSocketAddress(InetAddress.getByName("198.51.100.7"), 3000),
                ServerCommand.listenAddress("198.51.100.7:3000"));
        assertEquals(new InetSocketAddress(InetAddress.getByName("2001:db8::7"), 3000),
                ServerCommand.listenAddress("[2001:db8::7]:3000"));
        assertEquals(new InetSocketAddress(InetAddress.getByName("::"), 0), ServerCommand.listenAddress("[::]:0"));
        for (String bad : new String[] {"2001:db8::7:3000", "example.com:3000", "1.2.3.4", "1.2.3.4:70000", ":3000",
            "[::1]", "1.2.3.4:x"}) {
            Errors.UsageException e = assertThrows(Errors.UsageException.class, () -> ServerCommand.listenAddress(bad),
                    bad);
            assertTrue(e.getMessage().contains("ADDRESS:PORT"), e.getMessage());
        }
    }
}
