package dev.catena.api.spi;

import dev.catena.api.ModelInfo;

/**
 * Transformer blocks {@code [start, end)} of one model, loaded on one device. Weights are shared by
 * every session of the span; each session has its own KV cache. Thread-safe; close frees the
 * weights after every session is closed.
 */
public interface Span extends AutoCloseable {

    ModelInfo model();

    /** First block, inclusive. */
    int start();

    /** Last block, exclusive. */
    int end();

    /** Bytes of weights this span holds on its device. */
    long weightBytes();

    /** The device the span runs on, e.g. {@code CPU} or {@code CUDA0}. */
    String device();

    /**
     * What decides whether two spans' outputs are bit-equal: the backend build and the device kind
     * (e.g. {@code llama.cpp b1234/CPU/AVX2 FMA F16C} or {@code llama.cpp b1234/CUDA/NVIDIA H200}).
     * Spans of one non-empty kind give bit-equal outputs for equal inputs; empty means unknown.
     * Spot checks compare servers of one kind bit for bit, others within a tolerance.
     */
    default String computeKind() {
        return "";
    }

    /**
     * Opens a session with a KV cache for {@code options.maxLength()} tokens, allocated whole now,
     * on all the span's blocks or on {@code options.blocks()}, a part of them.
     *
     * @throws dev.catena.api.SpanInputException when maxLength is not positive or the blocks are not within the span
     */
    SpanSession openSession(SessionOptions options);

    /** Bytes a session with these options would reserve (before the device's alignment padding), to admit or refuse it first. */
    long kvBytesFor(SessionOptions options);

    /**
     * Runs several sessions' steps, each as its {@link SpanSession#forward(float[], int, int, boolean)}
     * would, and returns their results in order. A backend may compute them together (one pass over
     * the weights for all rows); each result is then what the session's own step gives. A step that
     * fails (bad input, a closed session) fails alone. This default runs them one by one.
     */
    default java.util.List<BatchStep.Result> forwardBatch(java.util.List<BatchStep> steps) {
        return steps.stream().map(BatchStep::forwardAlone).toList();
    }

    /**
     * Waits until this span may compute at once (the device's share it computes with is free), and keeps that
     * share for the calling thread until the turn is closed: {@link #forwardBatch} within it does not wait again.
     * A batching server takes its turn before it takes the steps of a batch, so that steps arriving while the
     * device was busy with other spans of the process join the batch rather than wait for the next one. The
     * default, for devices whose computes never wait for each other, holds nothing.
     */
    default ComputeTurn awaitComputeTurn() {
        return ComputeTurn.NONE;
    }

    /**
     * Whether spans of earlier blocks that share this span's device (servers of one process on the same
     * processors) compute now or wait to while this span could not start now, or did within the last {@code
     * withinNanos} (their outputs may still be on their way here); for the first of those spans, the spans after
     * it, whose sessions come back to it. A
     * batching server short of the sessions stepping lately then waits for them: their steps are on the way
     * through those spans, and the processors are busy anyway. The default: never.
     */
    default boolean earlierSpansBusy(long withinNanos) {
        return false;
    }

    @Override
    void close();
}
