package dev.catena.bench;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.ModelFormatException;
import dev.catena.api.UnsupportedModelException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ./catena bench compute|batch|batch-server|swarm|http|micro|etcd|attack}: the benchmark harnesses behind one picocli command line,
 * with {@code --help}, one-line usage errors and the same exit codes as {@code ./catena}.
 */
@Command(name = "catena bench", mixinStandardHelpOptions = true, version = "see ./catena --version",
        description = "Benchmarks, measured as ratios against a baseline at its best in the same run (BENCHMARKS.md).",
        subcommands = {ComputeBench.class, BatchBench.class, ServerBatchBench.class, SwarmBatchBench.class, SwarmLatencyBench.class, SpotCheckBench.class, HttpBench.class,
                MicroBench.class, EtcdBench.class,
                dev.catena.bench.attack.AttackSuite.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:internal error", "2:bad command line", "3:bad or unsupported model file",
                "4:backend unavailable"})
public final class BenchCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        var cli = new CommandLine(new BenchCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("catena bench: " + e.getMessage());
            if (e instanceof ModelFormatException || e instanceof UnsupportedModelException) return 3;
            if (e instanceof BackendUnavailableException) return 4;
            if (e instanceof IllegalArgumentException) return 2;
            return 1;
        });
        cli.setParameterExceptionHandler((e, arguments) -> {
            String name = e.getCommandLine().getCommandSpec().qualifiedName();
            e.getCommandLine().getErr().println(name + ": " + e.getMessage() + " (see ./" + name + " --help)");
            return 2;
        });
        return cli.execute(args);
    }
}
