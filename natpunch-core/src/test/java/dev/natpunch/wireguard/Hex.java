package dev.natpunch.wireguard;

import java.util.HexFormat;

/** Hex fixtures written with spaces, line breaks and {@code # comments} for readability. */
final class Hex {
    private Hex() {}

    static byte[] bytes(String annotated) {
        StringBuilder sb = new StringBuilder();
        for (String line : annotated.split("\n")) {
            int hash = line.indexOf('#');
            sb.append((hash >= 0 ? line.substring(0, hash) : line).replaceAll("\\s+", ""));
        }
        return HexFormat.of().parseHex(sb.toString());
    }

    static String of(byte[] b) {
        return HexFormat.ofDelimiter(" ").formatHex(b);
    }
}
