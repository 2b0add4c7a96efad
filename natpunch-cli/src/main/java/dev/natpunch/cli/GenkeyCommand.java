package dev.natpunch.cli;

import dev.natpunch.crypto.KeyPair;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(
        name = "genkey",
        mixinStandardHelpOptions = true,
        description = {
            "Prints a new random private key in base64, like 'wg genkey'. Keys are"
                    + " interchangeable with WireGuard's.",
            "",
            "Example:  umask 077; natpunch genkey > server.key; natpunch pubkey < server.key",
            ""
        })
final class GenkeyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        KeyPair keys = KeyPair.generate();
        try {
            spec.commandLine().getOut().println(keys.privateKey().toBase64());
            spec.commandLine().getOut().flush();
        } finally {
            keys.destroy();
        }
        return 0;
    }
}
