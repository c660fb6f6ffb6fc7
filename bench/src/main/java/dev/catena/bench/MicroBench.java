package dev.catena.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ./catena bench micro}: JMH, with JMH's own options passed through. */
@Command(name = "micro", mixinStandardHelpOptions = true,
        description = {"JMH micro benchmarks: what a hop costs besides compute (HopBench) and one decode step of a span "
                + "(SpanStepBench).", "Every argument goes to JMH, e.g. HopBench -p nEmbd=2048,4096 -rf json -rff out.json; "
                + "'micro -- -h' prints JMH's options."})
final class MicroBench implements Callable<Integer> {
    @Parameters(paramLabel = "JMH-ARGS", description = "JMH's arguments (benchmark regex, -p, -f, -wi, -i, -rf ...).")
    List<String> jmhArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(jmhArgs.toArray(String[]::new));
        return 0;
    }
}
