package dev.catena.core.server;

import dev.catena.transport.spi.Frame;

/** What a session needs from the server hosting it: its peers, its counters, and where to report a bad sender. */
interface SessionHost {
    /** The address this server gives as the sender of its pushes. */
    String address();

    ServerCounters counters();

    /** Fire-and-forget to the peer clients name {@code address}; a peer that cannot be reached loses the push. */
    void push(String address, Frame push);

    /**
     * Starts connecting to a peer in the background, so that the connection is usually up by the first
     * push; over TLS the peer must present {@code expectedKey}'s certificate (or a trusted one).
     */
    void connectToPeer(String address, java.security.PublicKey expectedKey);

    /** A push's trailing signature, to the peer the push went to, on the same connection after it. */
    void pushSignature(String address, Frame signature);

    /** The key this server signs its results and pushes with. */
    java.security.PrivateKey signingKey();

    /** This server's identity: the public key of {@link #signingKey()}. */
    java.security.PublicKey publicKey();

    /** A signed push that proved different from the client's copy of the same input: evidence, kept. */
    default void recordEvidence(dev.catena.transport.proto.SignedStatement push) {
    }

    /**
     * Ring mode: the model's head (embeddings, final norm, LM head, tokenizer), opened on first use and
     * shared by the server's ring sessions.
     *
     * @throws UnsupportedOperationException when this server cannot run the head
     */
    default dev.catena.api.spi.ModelHead ringHead() {
        throw new UnsupportedOperationException("this server does not run the model's head");
    }

    /**
     * Runs a session's step on the span: at once, or in a batch with other sessions' steps ({@link StepBatcher}),
     * and adds the compute time to {@link ServerCounters#computeNanos} (a batch's once, for all its steps).
     */
    default float[] forward(dev.catena.api.spi.SpanSession span, float[] hidden, int n, int position, boolean lastOnly) {
        long started = System.nanoTime();
        float[] out = span.forward(hidden, n, position, lastOnly);
        counters().computeNanos.addAndGet(System.nanoTime() - started);
        return out;
    }

    /**
     * Whether a session whose decode steps are cheap may run a step on the transport's thread that
     * received its input, when the session is idle (no thread hand-off; {@link ServerSession#runsInline}).
     * Not with batching: a step there waits for other sessions' steps; nor while another step computes on
     * the span, which the transport's thread would wait for (another client's long prompt, say).
     */
    default boolean stepsInline() {
        return false;
    }

    /** A sender whose push differed from the client's copy of the same input. */
    void recordInconsistent(String sender);
}
