package dev.catena.core.server;

import dev.catena.api.spi.BatchStep;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The steps handed to a {@link StepBatcher} and not yet in a batch: decode steps (one token) and prefills
 * (several), each in arrival order, and which of them the next batch takes. Not thread-safe: the batcher's
 * lock guards it.
 */
final class WaitingSteps {
    /** A step and where its result goes. */
    record Pending(BatchStep step, CompletableFuture<float[]> result) {
    }

    private final ArrayDeque<Pending> decodes = new ArrayDeque<>();
    private final ArrayDeque<Pending> prefills = new ArrayDeque<>();
    private final int maxBatch;
    private final int maxPrefillRows;

    WaitingSteps(int maxBatch, int maxPrefillRows) {
        this.maxBatch = maxBatch;
        this.maxPrefillRows = maxPrefillRows;
    }

    void add(Pending p) {
        (p.step().n() == 1 ? decodes : prefills).add(p);
    }

    boolean isEmpty() {
        return decodes.isEmpty() && prefills.isEmpty();
    }

    int size() {
        return decodes.size() + prefills.size();
    }

    /** Whether a prefill starts the next batch: one waits, and it is prefills' turn or no decode step waits. */
    boolean prefillFirst(boolean prefillTurn) {
        return !prefills.isEmpty() && (decodes.isEmpty() || prefillTurn);
    }

    Pending pollPrefill() {
        return prefills.poll();
    }

    /** Adds waiting decode steps, then waiting prefills whose rows fit within maxPrefillRows, up to maxBatch steps. */
    void takeInto(List<Pending> batch) {
        while (batch.size() < maxBatch && !decodes.isEmpty()) {
            batch.add(decodes.poll());
        }
        int rows = batch.stream().mapToInt(p -> p.step().n() > 1 ? p.step().n() : 0).sum();
        while (batch.size() < maxBatch && !prefills.isEmpty() && rows + prefills.peek().step().n() <= maxPrefillRows) {
            rows += prefills.peek().step().n();
            batch.add(prefills.poll());
        }
    }
}
