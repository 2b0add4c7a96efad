package dev.natpunch.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.natpunch.crypto.Key;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Fuzz targets for the key parsers users feed from files, stdin and the command line. */
class KeyFuzzTest {

    /** Only IllegalArgumentException (whose message users see); what parses is canonical. */
    @FuzzTest(maxDuration = "60s")
    void fromBase64(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        Key k;
        try {
            k = Key.fromBase64(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertEquals(text.strip(), k.toBase64());
    }

    @FuzzTest(maxDuration = "60s")
    void fromHex(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        Key k;
        try {
            k = Key.fromHex(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertEquals(text.toLowerCase(Locale.ROOT), k.toHex());
    }
}
