package dev.natpunch.cli;

import dev.natpunch.crypto.Key;
import dev.natpunch.crypto.KeyPair;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(
        name = "pubkey",
        mixinStandardHelpOptions = true,
        description = {
            "Reads a private key in base64 from standard input and prints its public key, like"
                    + " 'wg pubkey'.",
            "",
            "Example:  natpunch pubkey < server.key",
            ""
        })
final class PubkeyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String text = new String(System.in.readNBytes(256), StandardCharsets.US_ASCII);
        Key privateKey;
        try {
            privateKey = Key.fromBase64(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("standard input: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().println(KeyPair.fromPrivateKey(privateKey).publicKey().toBase64());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
