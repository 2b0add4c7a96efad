package dev.natpunch.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class RawUdpTransportPermissionTest {

    @Test
    void withoutCapNetRawTheMessageSaysWhatToDo() throws Exception {
        assumeTrue(Privileges.isRoot(), "needs root to drop CAP_NET_RAW from a thread; not running as root");
        IOException e = Privileges.withoutNetRaw(() -> assertThrows(IOException.class,
                () -> RawUdpTransport.open(new InetSocketAddress("127.0.0.1", 9), 9)));
        assertEquals("raw sockets need root or CAP_NET_RAW: run as root or `setcap cap_net_raw+ep` on the "
                + "java binary (Operation not permitted)", e.getMessage());
    }

    @Test
    void withoutCapNetRawTheIpv6MessageIsTheSame() throws Exception {
        assumeTrue(Privileges.isRoot(), "needs root to drop CAP_NET_RAW from a thread; not running as root");
        IOException e = Privileges.withoutNetRaw(() -> assertThrows(IOException.class,
                () -> RawUdpTransport.open(new InetSocketAddress("::1", 9), 9)));
        assertEquals("raw sockets need root or CAP_NET_RAW: run as root or `setcap cap_net_raw+ep` on the "
                + "java binary (Operation not permitted)", e.getMessage());
    }
}
