package dev.catena.bench;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The harnesses' long work (rounds, generating a preset model) as a progress bar on a terminal, and
 * as plain lines on stderr otherwise (pipes, CI logs), where every line stays readable.
 */
final class BenchProgress implements AutoCloseable {
    private final ProgressBar bar; // null when not on a terminal

    private BenchProgress(String task, long steps) {
        var console = System.console();
        this.bar = console != null && console.isTerminal()
                ? new ProgressBarBuilder().setTaskName(task).setInitialMax(steps).setStyle(ProgressBarStyle.ASCII)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).build()
                : null;
    }

    /** {@code steps} steps, or -1 when how many is not known. */
    static BenchProgress start(String task, long steps) {
        return new BenchProgress(task, steps);
    }

    /** One step done; {@code line} is its result: the bar's message on a terminal, a line otherwise. */
    void step(String line) {
        if (bar == null) {
            System.err.println(line);
        } else {
            bar.setExtraMessage(" " + line);
            bar.step();
        }
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
