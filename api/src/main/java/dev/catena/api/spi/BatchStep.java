package dev.catena.api.spi;

import java.util.Objects;

/**
 * One session's step in a batch ({@link Span#forwardBatch}): what {@link SpanSession#forward(float[],
 * int, int, boolean)} would take.
 *
 * @param session  a session opened on the span that runs the batch
 * @param hidden   {@code n * nEmbd} floats
 * @param n        tokens in this step (a decode step has one)
 * @param position where the tokens start
 * @param lastOnly return only the last token's hidden state
 */
public record BatchStep(SpanSession session, float[] hidden, int n, int position, boolean lastOnly) {
    public BatchStep {
        Objects.requireNonNull(session, "session");
    }

    /** A single-token (decode) step. */
    public static BatchStep decode(SpanSession session, float[] hidden, int position, boolean lastOnly) {
        return new BatchStep(session, hidden, 1, position, lastOnly);
    }

    /** Runs this step on its own, as {@link SpanSession#forward} does: its hidden states, or its error (not thrown). */
    public Result forwardAlone() {
        try {
            return Result.of(session.forward(hidden, n, position, lastOnly));
        } catch (RuntimeException e) {
            return Result.failed(e);
        }
    }

    /** What a step of a batch gave: its hidden states, or why it failed (the other steps are not affected). */
    public record Result(float[] hidden, RuntimeException error) {
        public static Result of(float[] hidden) {
            return new Result(hidden, null);
        }

        public static Result failed(RuntimeException error) {
            return new Result(null, error);
        }

        /** The hidden states, or the step's error thrown. */
        public float[] get() {
            if (error != null) {
                throw error;
            }
            return hidden;
        }
    }
}
