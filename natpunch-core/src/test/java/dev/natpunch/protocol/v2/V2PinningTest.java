package dev.natpunch.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.natpunch.crypto.CipherState;
import dev.natpunch.crypto.KeyPair;
import dev.natpunch.crypto.NoiseHandshake;
import dev.natpunch.protocol.HandshakeInitiation;
import dev.natpunch.protocol.Wire;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Pins one example of every version 2 message, in two ways: the plaintext is compared with the
 * fields of the specification's layout tables written out by hand (so a layout change shows up
 * as a mismatch with the document), and the whole datagram with the bytes computed once by this
 * implementation (so a change to framing or cryptography shows up). The examples section of
 * {@code docs/protocol-v2.md} is printed by {@link V2Examples#main} from the same builders.
 */
class V2PinningTest {
    private static final String A = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
    private static final String B = "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40";
    private static final String MAPPED = "00000000000000000000ffff";
    private static final String SRFLX_V4 = "14" + MAPPED + "c6120007" + "ca6c";
    private static final String SRFLX_V6 = "16" + "20010db8000000000000000000000007" + "ca6c";
    private static final String LOCAL_V4 = "24" + MAPPED + "64400007" + "ca6c";
    private static final String PUSHED_V4 = "14" + MAPPED + "c6120009" + "ca6c";
    private static final String PRIMARY = "84" + MAPPED + "c6120001" + "0bb8";
    private static final String ALT_PORT = "94" + MAPPED + "c6120001" + "0bb9";
    private static final String ALT_ADDRESS = "a4" + MAPPED + "c6120002" + "0bb8";
    private static final String ALT_BOTH = "b4" + MAPPED + "c6120002" + "0bb9";
    private static final String RELAY = "34" + MAPPED + "c6120001" + "9c40";
    private static final String TOKEN = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";

    /** Plaintexts from the layout tables: inner header (kind, id, body length), body, padding. */
    private static final Map<String, String> LAYOUT = Map.ofEntries(
            Map.entry("handshake initiation with offer", "187b16d8f4eacd15" + "010102" + "0208000000000000003f"),
            Map.entry("handshake response with answer", "010102" + "0208000000000000003f" + "0313" + SRFLX_V4
                    + "0402012c"),
            Map.entry("LOOKUP", "01" + "00000001" + "0041" + "0f" + A + B),
            Map.entry("LOOKUP_RESULT", "81" + "00000001" + "002d" + "02" + "00" + "00000005" + "02" + SRFLX_V4
                    + SRFLX_V6),
            Map.entry("SUBSCRIBE", "02" + "00000002" + "0042" + "01" + "0f" + A + B),
            Map.entry("SUBSCRIBE_RESULT", "82" + "00000002" + "0005" + "00" + "0002" + "0400"),
            Map.entry("PUSH_UPDATE", "83" + "9e3779b9" + "005d" + A + "00000006" + "01" + PUSHED_V4
                    + B + "00000007" + "00"),
            Map.entry("PUSH_ACK", "03" + "9e3779b9" + "0000"),
            Map.entry("REGISTER", "04" + "00000003" + "0014" + "01" + LOCAL_V4),
            Map.entry("REGISTER_RESULT", "84" + "00000003" + "0014" + SRFLX_V4 + "01"),
            Map.entry("PROBE", "05" + "00000004" + "0001" + "01" + "00".repeat(37)),
            Map.entry("PROBE_RESULT", "85" + "00000004" + "0026" + SRFLX_V4 + ALT_PORT),
            Map.entry("INFO", "06" + "00000005" + "0000" + "00".repeat(152)),
            Map.entry("INFO_RESULT", "86" + "00000005" + "004c" + PRIMARY + ALT_PORT + ALT_ADDRESS + ALT_BOTH),
            Map.entry("RELAY", "07" + "00000006" + "0021" + "01" + B + "00".repeat(5)),
            Map.entry("RELAY_RESULT", "87" + "00000006" + "0026" + "00" + "0078" + RELAY + TOKEN),
            Map.entry("ERROR", "ff" + "00000007" + "0001" + "02"),
            Map.entry("relay bind", ""));

    /** Plaintext and datagram of every example, as computed once by this implementation. */
    private static final Map<String, String[]> PINNED = Map.ofEntries(
            Map.entry("handshake initiation with offer", new String[] {
                    "187b16d8f4eacd150101020208000000000000003f",
                    "0101020304736845d54e87de09d6bb114aa7042c50a4a015bd9901d1a0026f59"
                    + "56533a15190b09609380a55994f9f6a590ba272c2be4184ace12454a4cf0f371"
                    + "313a7f1b5982e6ac5882fe458ae3f3431097a3c165b2b42a96a1277683064c28"
                    + "37368202d0fbb3f1a5ae27cfd2ca5b9158a5d87b9241e428162e"}),
            Map.entry("handshake response with answer", new String[] {
                    "0101020208000000000000003f03131400000000000000000000ffffc6120007"
                    + "ca6c0402012c",
                    "0201020305605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6"
                    + "e2f805d23c73cf4afc684143e9fa17f3074ade90d059ec8d8678435168fefceb"
                    + "05a68664f5f3596559b5b9ebe8f410e5425c74f19b819c87fd6d5e"}),
            Map.entry("LOOKUP", new String[] {
                    "010000000100410f0102030405060708090a0b0c0d0e0f101112131415161718"
                    + "191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738"
                    + "393a3b3c3d3e3f40",
                    "0401020305000000000000000019b84231ace6e7de12635f65aa45492ff1bbf8"
                    + "f9eca3544cfdeaef063f2362446b121371ccf0237dbca37b0041282714b28add"
                    + "72f37376fe3c18794b04a36df57bc816e09a74ad95937beac5f96d22f28c8ac8"
                    + "0d7a0cbf94"}),
            Map.entry("LOOKUP_RESULT", new String[] {
                    "8100000001002d020000000005021400000000000000000000ffffc6120007ca"
                    + "6c1620010db8000000000000000000000007ca6c",
                    "0501020305000000000000000001635fdc1288fa1f9a28f9e1e08b5a1dc669bb"
                    + "ce2d4fbad9c54f3cef53b5b4dca27ab7d872a9ecc3c3a947ae3025a231419571"
                    + "85ff8fd1bb330d1d0861921251ba8f618e"}),
            Map.entry("SUBSCRIBE", new String[] {
                    "02000000020042010f0102030405060708090a0b0c0d0e0f1011121314151617"
                    + "18191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
                    + "38393a3b3c3d3e3f40",
                    "040102030500000000000000019d57f35fb72aed1926b7ac5f56909f80cd74e1"
                    + "054b666ea2d375a74899fdcbb3c053ccb7f8d5c194a40ad6bcafa1ba4a6b1faf"
                    + "4ddfa16879b525b35316b15db6f33e0734d8d3121f7ccd74e8c7aa9c78e3086f"
                    + "2398bb1041da"}),
            Map.entry("SUBSCRIBE_RESULT", new String[] {
                    "820000000200050000020400",
                    "050102030500000000000000019043b66d01743089c3784693975fcf9b4b55a6"
                    + "adee63baa42d743273"}),
            Map.entry("PUSH_UPDATE", new String[] {
                    "839e3779b9005d0102030405060708090a0b0c0d0e0f10111213141516171819"
                    + "1a1b1c1d1e1f2000000006011400000000000000000000ffffc6120009ca6c21"
                    + "22232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f4000"
                    + "00000700",
                    "050102030500000000000000024f4bb7d8c70e293216fdee44c4b5cbed80bec6"
                    + "5b4eddb447188fb354d35885846342a93d1b4ec670d35cb4f711c78a45db5d55"
                    + "8f51a04c6c5d2aa05dfaec5f3368bd2409a31b76492db1bfd6b6d21c76afebf7"
                    + "57539e0f5890933db24665dca4b1145af68f154af1025d4ee16b29be8f21097b"
                    + "06"}),
            Map.entry("PUSH_ACK", new String[] {
                    "039e3779b90000",
                    "04010203050000000000000002aa3dc92c5eeaac281310e716221843441ede35"
                    + "c024edd7"}),
            Map.entry("REGISTER", new String[] {
                    "04000000030014012400000000000000000000ffff64400007ca6c",
                    "040102030500000000000000035373747a2c6c9cb6ba272654799d8ff4f80d62"
                    + "98c0638f294339a3d37435ec2caae5ed6caa0418cf40a446"}),
            Map.entry("REGISTER_RESULT", new String[] {
                    "840000000300141400000000000000000000ffffc6120007ca6c01",
                    "050102030500000000000000034a8ee90634e01045360cafd9370fa63e92be99"
                    + "836bbe1c15dd1738b8ed55921ca34a64c1f18baebd2fdb63"}),
            Map.entry("PROBE", new String[] {
                    "0500000004000101000000000000000000000000000000000000000000000000"
                    + "00000000000000000000000000",
                    "04010203050000000000000004d1c956688beeef5e16865204170adcb9ea7ce1"
                    + "32740f1c908aafd71bdfd26ad2075c175e43db015ea6358d0aee8c90d07980c3"
                    + "7f2d920021d2e91438b4"}),
            Map.entry("PROBE_RESULT", new String[] {
                    "850000000400261400000000000000000000ffffc6120007ca6c940000000000"
                    + "0000000000ffffc61200010bb9",
                    "0501020305000000000000000455541f4f0bf90310dc3eee2f633ff992bbea89"
                    + "319fc1d1a3b61d446f4e56892e693bcb0ffee2bc09d8663452445be955ee5958"
                    + "331741b08948152c4232"}),
            Map.entry("INFO", new String[] {
                    "0600000005000000000000000000000000000000000000000000000000000000"
                    + "0000000000000000000000000000000000000000000000000000000000000000"
                    + "0000000000000000000000000000000000000000000000000000000000000000"
                    + "0000000000000000000000000000000000000000000000000000000000000000"
                    + "00000000000000000000000000000000000000000000000000000000000000",
                    "040102030500000000000000052508960a4025473e8baa394825b530a39e3e83"
                    + "45f45801087435a7b114f479ca057556fa7b7732bbb85d90b185fed9b4276595"
                    + "99e08f33c02ccff1c89821cb4e3ef3f2242f80c5331d5f86fa78fb24176d78ec"
                    + "90aed8100bd062659d88306becb7d26a148ef06dab2581b978d42ce274839de3"
                    + "d4147104cf939d02fcae0229b109e0fbec9bd0fef14e312a4ae5c217097652ee"
                    + "429cecd1013943e565cd2f52a2f8806464c87bf85dc5c4ddc4760d41"}),
            Map.entry("INFO_RESULT", new String[] {
                    "8600000005004c8400000000000000000000ffffc61200010bb8940000000000"
                    + "0000000000ffffc61200010bb9a400000000000000000000ffffc61200020bb8"
                    + "b400000000000000000000ffffc61200020bb9",
                    "05010203050000000000000005d7299a1baf0acabf65f061aa189e4b56d2539b"
                    + "874962685162cda914e0a40892189e5f060bacfcbcb1cc440dfac9fa763575c4"
                    + "5ecd9f925bb9f719623b623ef9197c7acacca24c917813786bbd81df9e470a40"
                    + "5e006f4643aecc86e4d98e9bd84bf7d9"}),
            Map.entry("RELAY", new String[] {
                    "07000000060021012122232425262728292a2b2c2d2e2f303132333435363738"
                    + "393a3b3c3d3e3f400000000000",
                    "04010203050000000000000006d85a3aed3708124096cf25582975237a9525c5"
                    + "8748c90c53ccb5d6015408ddcf85102811000d0f4029b262c0952911dd3abd2d"
                    + "593274a2eb16b57e5b3c"}),
            Map.entry("RELAY_RESULT", new String[] {
                    "870000000600260000783400000000000000000000ffffc61200019c40a0a1a2"
                    + "a3a4a5a6a7a8a9aaabacadaeaf",
                    "050102030500000000000000062910eb4bd78b1319c211e6085a365be8b1c853"
                    + "e02f69fc8a1714a15166400dbffab65cd7b87be39fbc74d434eb0f476cae84da"
                    + "a849d78ec5e575cb10fb"}),
            Map.entry("ERROR", new String[] {
                    "ff00000007000102",
                    "05010203050000000000000007d1fe47e940277fef59a71698913d5433f53e8b"
                    + "0ee084c6c1"}),
            Map.entry("relay bind", new String[] {
                    "",
                    "06000000a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"}));

    private static List<V2Examples.Example> all() throws Exception {
        List<V2Examples.Example> all = new ArrayList<>(V2Examples.handshake());
        all.addAll(V2Examples.sealed());
        return all;
    }

    @Test
    void everyExampleMatchesTheLayoutTablesAndThePinnedBytes() throws Exception {
        List<V2Examples.Example> all = all();
        assertEquals(LAYOUT.size(), all.size());
        for (V2Examples.Example e : all) {
            assertEquals(LAYOUT.get(e.name()), V2Examples.HEX.formatHex(e.plaintext()), e.name() + ": layout");
            assertEquals(PINNED.get(e.name())[0], V2Examples.HEX.formatHex(e.plaintext()), e.name() + ": plaintext");
            assertEquals(PINNED.get(e.name())[1], V2Examples.HEX.formatHex(e.datagram()), e.name() + ": datagram");
        }
    }

    @Test
    void sealedHeadersCarryTypeIndexAndCounterInClear() {
        long toServer = 0;
        long toClient = 0;
        for (V2Examples.Example e : V2Examples.sealed()) {
            byte[] d = e.datagram();
            if (d[0] == V2Wire.TYPE_RELAY_BIND) {
                assertEquals("06000000" + TOKEN, V2Examples.HEX.formatHex(d));
                assertNull(RelayControl.checkBind(d, 0, d.length));
                continue;
            }
            boolean up = d[0] == V2Wire.TYPE_SEALED_TO_SERVER;
            long counter = up ? toServer++ : toClient++;
            assertEquals((up ? "04" : "05") + "01020305" + String.format("%016x", counter),
                    V2Examples.HEX.formatHex(d, 0, 13), e.name());
            assertEquals(e.plaintext().length + 29, d.length, e.name());
            assertNull(Sealed.check(d, 0, d.length, up), e.name());
            byte[] p = new byte[d.length];
            CipherState receiver = CipherState.fromKey(up ? V2Examples.KEY_CS : V2Examples.KEY_SC);
            assertEquals(e.plaintext().length, Sealed.open(receiver, d, 0, d.length, p, 0), e.name());
            assertEquals(V2Examples.HEX.formatHex(e.plaintext()), V2Examples.HEX.formatHex(p, 0, e.plaintext().length));
            assertNull(up ? V2Messages.checkToServer(p, 0, e.plaintext().length)
                    : V2Messages.checkToClient(p, 0, e.plaintext().length), e.name());
        }
    }

    /** Answers are never longer than what they answer (the examples pad where the rules say so). */
    @Test
    void noExampleAnswerIsLongerThanItsRequest() {
        List<V2Examples.Example> s = V2Examples.sealed();
        for (int i = 0; i + 1 < s.size(); i++) {
            V2Examples.Example request = s.get(i);
            V2Examples.Example answer = s.get(i + 1);
            if (request.datagram()[0] == V2Wire.TYPE_SEALED_TO_SERVER && answer.datagram()[0] == V2Wire.TYPE_SEALED_TO_CLIENT
                    && (answer.plaintext()[0] & 0x7f) == request.plaintext()[0]) {
                assertTrue(answer.datagram().length <= request.datagram().length, answer.name());
            }
        }
    }

    /** Without an offer, message 1 is byte for byte the version 1 message. */
    @Test
    void initiationWithoutOfferIsVersionOne() {
        NoiseHandshake a = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE, V2Examples.CLIENT_EPHEMERAL);
        NoiseHandshake b = NoiseHandshake.initiator(V2Examples.CLIENT, V2Examples.SERVER.publicKey(),
                NoiseHandshake.NATPUNCH_PROLOGUE, V2Examples.CLIENT_EPHEMERAL);
        byte[] v2 = new byte[V2Wire.MAX_INITIATION_LENGTH];
        byte[] v1 = new byte[Wire.INITIATION_LENGTH];
        byte[] scratch = new byte[8 + V2Wire.MAX_CAPABILITY_BLOCK];
        assertEquals(109, V2Handshake.encodeInitiation(a, V2Examples.PROPOSAL, V2Examples.TIMESTAMP, null, scratch, v2, 0));
        HandshakeInitiation.encode(b, V2Examples.PROPOSAL, V2Examples.TIMESTAMP, new byte[8], v1, 0);
        assertEquals(V2Examples.HEX.formatHex(v1), V2Examples.HEX.formatHex(v2, 0, 109));
    }

    /** The offer changes only the Noise payload: type, index, e and encrypted s are as in version 1. */
    @Test
    void offerLeavesTheFirstEightyFiveBytesAlone() throws Exception {
        byte[] m1 = all().get(0).datagram();
        assertEquals(122, m1.length);
        KeyPair e = V2Examples.CLIENT_EPHEMERAL;
        assertEquals(e.publicKey().toHex(), V2Examples.HEX.formatHex(m1, 5, 37));
        assertEquals("0101020304736845d54e87de09d6bb114aa7042c50a4a015bd9901d1a0026f59"
                + "56533a15190b09609380a55994f9f6a590ba272c2be4184ace12454a4cf0f371"
                + "313a7f1b5982e6ac5882fe458ae3f3431097a3c165",
                V2Examples.HEX.formatHex(m1, 0, 85), "same prefix as the version 1 pinned message 1");
    }

    /** The examples section of the specification shows exactly these bytes. */
    @Test
    void documentShowsTheSameBytes() throws Exception {
        Path doc = Path.of("..", "docs", "protocol-v2.md");
        Assumptions.assumeTrue(Files.exists(doc), "docs/protocol-v2.md is not next to the module (run from the repository)");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        for (V2Examples.Example e : all()) {
            String heading = "#### " + e.name() + " (" + e.datagram().length + " bytes)";
            int at = text.indexOf(heading);
            assertTrue(at >= 0, "missing: " + heading);
            int next = text.indexOf("#### ", at + heading.length());
            String section = text.substring(at, next < 0 ? text.indexOf("## 11.", at) : next);
            List<String> blocks = new ArrayList<>();
            Matcher m = Pattern.compile("```\\n(.*?)```", Pattern.DOTALL).matcher(section);
            while (m.find()) {
                blocks.add(m.group(1).replace("\n", ""));
            }
            assertEquals(V2Examples.HEX.formatHex(e.datagram()), blocks.get(blocks.size() - 1), e.name() + ": datagram");
            if (e.plaintext().length > 0) {
                assertEquals(V2Examples.HEX.formatHex(e.plaintext()), blocks.get(0), e.name() + ": plaintext");
            }
        }
    }
}
