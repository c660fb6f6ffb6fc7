package dev.catena.samples.cli;

import dev.catena.core.CatenaClient;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** How a swarm client gathers evidence against lying servers (picocli mixin of {@code generate}, {@code serve} and {@code swarm}). */
final class EvidenceOptions {
    @Option(names = "--proofs", paramLabel = "DIR", description = "Write each proof of a server's misbehaviour found here (check with ./catena verify-proof).")
    Path proofs;

    @Option(names = "--spot-check", defaultValue = "0.01", paramLabel = "FRACTION",
            description = "Re-run this fraction of steps on another server of the same blocks and compare (default ${DEFAULT-VALUE}; 0: none).")
    double spotCheck;

    @Option(names = "--spot-check-tolerance", defaultValue = "0.1", paramLabel = "EPSILON",
            description = "Between servers of different compute kinds: how far an output row may be from the other's, both as a"
                    + " relative L2 distance and as its largest element difference over the row's largest value, for a spot"
                    + " check to accept (default ${DEFAULT-VALUE}); one kind is compared bit for bit.")
    double spotCheckTolerance;

    @Option(names = "--signature-checks", defaultValue = "0.125", paramLabel = "FRACTION",
            description = "Verify the signatures of this fraction of results, at random (default ${DEFAULT-VALUE}; 1: all). "
                    + "Every result is checked by the digest chain; a server sending a bad signature is caught at the first sampled step.")
    double signatureChecks;

    /** Applies the options to {@code b}; a fraction out of [0, 1] is a command-line error. */
    CatenaClient.Builder apply(CatenaClient.Builder b, CommandLine commandLine) {
        if (proofs != null) b.proofDirectory(proofs);
        if (!(spotCheckTolerance > 0 && spotCheckTolerance < 1)) {
            throw new CommandLine.ParameterException(commandLine, "--spot-check-tolerance must be in (0, 1), got " + spotCheckTolerance);
        }
        return b.spotCheck(fraction(commandLine, "--spot-check", spotCheck)).spotCheckTolerance(spotCheckTolerance)
                .signatureChecks(fraction(commandLine, "--signature-checks", signatureChecks));
    }

    private static double fraction(CommandLine commandLine, String name, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new CommandLine.ParameterException(commandLine, name + " must be in [0, 1], got " + value);
        }
        return value;
    }
}
