package dev.natpunch.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.server.RendezvousServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * NetCheck against a real server on loopback, where there is no NAT: every measurement must say
 * so. The namespace tests (NetcheckIT) cover real NATs.
 */
class NetCheckTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void withoutANatEverythingIsEndpointIndependentAndThePortIsKept() throws Exception {
        InetAddress second = InetAddress.getByName("127.0.0.2");
        try (RendezvousServer server = RendezvousServer.builder()
                .listen(new InetSocketAddress(LOOPBACK, 0))
                .probePort(freePort())
                .alternateAddress(second)
                .build()) {
            server.start();
            NatReport r = NetCheck.builder(server.localAddress(), server.publicKey()).build().run();
            assertEquals(NatReport.Mapping.ENDPOINT_INDEPENDENT, r.mapping(), r.describe());
            assertEquals(NatReport.Filtering.ENDPOINT_INDEPENDENT, r.filtering(), r.describe());
            assertTrue(r.portPreserved(), r.describe());
            assertEquals(new InetSocketAddress(LOOPBACK, r.localPort()), r.publicEndpoint());
            assertFalse(r.symmetric());
            assertTrue(r.toJson().contains("\"mapping\":\"endpoint-independent\""), r.toJson());
        }
    }

    @Test
    void aServerWithoutProbingSaysWhatItNeeds() throws Exception {
        try (RendezvousServer server = RendezvousServer.builder().bindAddress(LOOPBACK).build()) {
            server.start();
            IOException e = assertThrows(IOException.class,
                    () -> NetCheck.builder(server.localAddress(), server.publicKey())
                            .perProbe(Duration.ofMillis(300), 2).build().run());
            assertTrue(e.getMessage().contains("does not offer NAT probing"), e.getMessage());
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
