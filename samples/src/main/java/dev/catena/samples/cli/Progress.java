package dev.catena.samples.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.function.Supplier;

/**
 * Long work shown as it runs: on a terminal, a progress bar on stderr; otherwise (pipes, scripts,
 * tests) nothing, so output stays plain lines.
 */
final class Progress {
    private Progress() {
    }

    static boolean onTerminal() {
        var console = System.console();
        return console != null && console.isTerminal();
    }

    /** Runs {@code work}; on a terminal an open-ended bar named {@code task} runs meanwhile. */
    static <T> T during(String task, Supplier<T> work) {
        if (!onTerminal()) return work.get();
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(-1).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(100).setConsumer(new ConsoleProgressBarConsumer(System.err)).hideEta().build()) {
            return work.get();
        }
    }
}
