package dev.catena.samples.cli;

import dev.catena.core.Proofs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code catena verify-proof}: checks a proof of misbehaviour offline. */
@Command(name = "verify-proof", mixinStandardHelpOptions = true,
        description = "Checks a proof of a server's misbehaviour offline and names the key that signed two different outputs for one input.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:proved", "1:not proved", "2:bad file"})
final class VerifyProofCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "A .proof file (a serialized catena.v1.Proof).")
    Path file;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        Proofs.Verdict v = Proofs.verify(file);
        var out = v.status() == Proofs.Status.BAD_FILE ? spec.commandLine().getErr() : spec.commandLine().getOut();
        switch (v.status()) {
            case PROVED -> out.println("proved: " + v.message() + "\nkey: " + java.util.Base64.getEncoder().encodeToString(v.key().getEncoded()));
            case NOT_PROVED -> out.println("not proved: " + v.message());
            case BAD_FILE -> out.println("catena verify-proof: " + v.message());
        }
        out.flush();
        return v.exitCode();
    }
}
