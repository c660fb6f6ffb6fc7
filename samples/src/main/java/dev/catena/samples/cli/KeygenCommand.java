package dev.catena.samples.cli;

import dev.catena.core.Identity;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code catena keygen}: a new Ed25519 identity (key and self-signed certificate) in a folder. */
@Command(name = "keygen", mixinStandardHelpOptions = true,
        description = "Writes a new Ed25519 identity: DIR/identity.key (PKCS#8, mode 0600) and DIR/identity.crt (self-signed X.509).")
final class KeygenCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write to (created; an identity there is never overwritten).")
    Path out;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        Identity id = Identity.generate();
        try {
            id.save(out);
        } catch (UncheckedIOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        var o = spec.commandLine().getOut();
        o.printf("identity %s written to %s (%s, %s)%n", id.fingerprint(), out, Identity.KEY_FILE, Identity.CERT_FILE);
        o.flush();
        return 0;
    }
}
