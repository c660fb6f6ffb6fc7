package dev.catena.samples.cli;

import dev.catena.core.CatenaClient;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.time.Duration;

/** Fault-tolerance flags shared by the commands that generate through servers (picocli mixin). */
final class FailoverOptions {
    @Option(names = "--step-timeout-s", defaultValue = "30",
            description = "A server with no valid result for this long is failed over (default ${DEFAULT-VALUE} s).")
    double stepTimeoutSeconds;

    @Option(names = "--max-failovers", defaultValue = "4", description = "Failovers allowed in one step before giving up (default ${DEFAULT-VALUE}).")
    int maxFailovers;

    @Option(names = "--ban-s", defaultValue = "5",
            description = "First ban of a failed server; it doubles with each further failure, up to 5 min (default ${DEFAULT-VALUE} s).")
    double banSeconds;

    @Option(names = "--await-coverage-s", defaultValue = "0",
            description = "With --directory: when no server covers some blocks, wait this long for one (a server moving to them) before failing (default ${DEFAULT-VALUE} s).")
    double awaitCoverageSeconds;

    /** Refuses values out of range, as a usage error. */
    void check(CommandLine commandLine) {
        if (!(stepTimeoutSeconds > 0) || !(banSeconds >= 0) || maxFailovers < 0 || !(awaitCoverageSeconds >= 0)) {
            throw new CommandLine.ParameterException(commandLine,
                    "--step-timeout-s must be > 0, --ban-s >= 0, --max-failovers >= 0 and --await-coverage-s >= 0");
        }
    }

    /** These options on a client builder (checked first). */
    CatenaClient.Builder apply(CatenaClient.Builder b, CommandLine commandLine) {
        check(commandLine);
        return b.stepTimeout(Duration.ofMillis((long) (stepTimeoutSeconds * 1000))).maxFailovers(maxFailovers)
                .banTime(Duration.ofMillis((long) (banSeconds * 1000))).awaitCoverage(Duration.ofMillis((long) (awaitCoverageSeconds * 1000)));
    }
}
