package dev.catena.bench.attack;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The attack suite's honest client: a new {@link CatenaClient} per generation, as a user who arrives during the attack. */
record HonestClient(Path model, List<String> peers, int tokens) {
    /** Honest generations per warm-up batch. */
    static final int WARMUP_BATCH = 3;

    Generation run() {
        try (CatenaClient client = Catena.client(model).peers(peers).transport("netty").build()) {
            return client.generate(GenerationRequest.builder("Once upon a time").maxTokens(tokens).greedy().ignoreEos().build());
        }
    }

    /** {@code n} generations, their tokens compared with {@code reference}; what went wrong is added to {@code failures}. */
    Runs runs(int n, List<Integer> reference, List<String> failures, String what) {
        List<Double> steps = new ArrayList<>();
        boolean equal = true;
        for (int i = 0; i < n; i++) {
            try {
                Generation g = run();
                steps.addAll(g.stats().stepMillis());
                if (!g.tokens().equals(reference)) {
                    equal = false;
                    failures.add(what + " run " + i + ": tokens " + g.tokens() + " differ from " + reference);
                }
            } catch (RuntimeException e) {
                equal = false;
                failures.add(what + " run " + i + " failed: " + e);
            }
        }
        return new Runs(equal, steps);
    }

    /**
     * Honest generations, at least {@code batches} batches and then until two batches in a row are not
     * faster than the best (or {@code millis} pass). Without them the first attacks' unattacked runs were
     * measured while the JIT of this process and of the servers was still compiling the step's path (p50
     * 8.7 ms in the first phase of a full run, 2.0 ms in the sixth), so early attacks looked cheap and late
     * ones dear. The p50 falls in two stages (to ~5 ms, a plateau, then ~2 ms), hence the minimum.
     */
    void warmUp(List<Integer> reference, int batches, long millis, PrintWriter log) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        double best = Double.MAX_VALUE;
        int notFaster = 0;
        List<String> p50s = new ArrayList<>();
        while ((p50s.size() < batches || notFaster < 2) && System.nanoTime() < deadline) {
            List<String> failures = new ArrayList<>();
            double p50 = runs(WARMUP_BATCH, reference, failures, "warm-up").p50();
            if (!failures.isEmpty()) log.println("warm-up: " + String.join("; ", failures));
            p50s.add(String.format(Locale.ROOT, "%.2f", p50));
            if (p50 < best * 0.95) notFaster = 0;
            else notFaster++;
            best = Math.min(best, p50);
        }
        log.printf("warm-up: p50 %s ms%n", String.join(", ", p50s));
    }

    /** Honest generations' tokens compared with the reference, and their per-token step times (ms). */
    record Runs(boolean tokensEqual, List<Double> steps) {
        double p50() {
            return AttackSuite.p50(steps);
        }

        /** These runs and {@code other}'s together. */
        Runs with(Runs other) {
            List<Double> both = new ArrayList<>(steps);
            both.addAll(other.steps);
            return new Runs(tokensEqual && other.tokensEqual, both);
        }
    }
}
