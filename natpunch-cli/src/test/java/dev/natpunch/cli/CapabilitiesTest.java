package dev.natpunch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CapabilitiesTest {

    @Test
    void readsTheSetsAndTheEffectiveUserIdOfAStatusFile() {
        Capabilities.Status s = Capabilities.parse("Name:\tjava\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
                + "CapInh:\t0000000000000000\nCapPrm:\t0000000000003000\nCapEff:\t0000000000002000\n"
                + "CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000001000\nNoNewPrivs:\t1\n");
        assertEquals(0x2000, s.effective());
        assertEquals(0x3000, s.permitted());
        assertEquals(0, s.inheritable());
        assertEquals(0x1ffffffffffL, s.bounding());
        assertEquals(0x1000, s.ambient());
        assertEquals(0, s.euid(), "the second Uid field is the effective one");
        assertTrue(s.noNewPrivs());
        assertTrue(s.has(Capabilities.CAP_NET_RAW));
        assertFalse(s.has(Capabilities.CAP_NET_ADMIN));
        assertEquals(List.of("CAP_NET_ADMIN", "CAP_NET_RAW"), Capabilities.names(0x3000));
        assertEquals("CAP_63", Capabilities.name(63));
    }
}
