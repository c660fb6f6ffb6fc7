package dev.catena.samples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code catena bench}: listed here so that {@code ./catena --help} shows every command. The harnesses
 * live in the bench module (with JMH and llama.cpp's oracle), which the launcher runs for
 * {@code ./catena bench ...}; this command only answers when the CLI is run without the launcher.
 */
@Command(name = "bench", description = {"Benchmarks: compute (against llama.cpp), swarm (latency against the physical limit), "
        + "micro (JMH). ./catena bench --help lists their options; results in BENCHMARKS.md."})
final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "the benchmarks run through the ./catena launcher, which puts the bench module on the path: ./catena bench --help");
    }
}
