package dev.natpunch.cli;

import dev.natpunch.crypto.KeyPair;
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
        KeyPair keys = KeyPair.fromPrivateKey(KeyFiles.readStandardInput());
        try {
            spec.commandLine().getOut().println(keys.publicKey().toBase64());
            spec.commandLine().getOut().flush();
        } finally {
            keys.destroy();
        }
        return 0;
    }
}
