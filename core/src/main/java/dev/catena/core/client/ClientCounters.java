package dev.catena.core.client;

import dev.catena.core.metrics.LatencyHistogram;

import java.util.concurrent.atomic.AtomicLong;

/** What a client saw; thread-safe. */
public final class ClientCounters {
    public final AtomicLong results = new AtomicLong();      // step results received
    public final AtomicLong mismatched = new AtomicLong();   // results computed on an input that was not the client's
    public final AtomicLong pushed = new AtomicLong();       // accepted results a server computed on a pushed input
    public final AtomicLong corrected = new AtomicLong();    // results a server recomputed from the client's copy
    public final AtomicLong badSignatures = new AtomicLong(); // results not signed by their server's key (hop failures)
    public final AtomicLong signaturesNotSampled = new AtomicLong(); // results whose signatures were not verified (sampling)
    public final AtomicLong proofs = new AtomicLong();        // proofs of misbehaviour assembled
    public final AtomicLong spotChecks = new AtomicLong();    // checks made: a hop's history re-run on another server
    public final AtomicLong spotChecksSkipped = new AtomicLong(); // checks drawn while the replay budget was in debt
    public final AtomicLong spotCheckDisagreements = new AtomicLong();
    public final AtomicLong ringVerified = new AtomicLong();  // ring steps verified after the fact
    public final AtomicLong ringRewound = new AtomicLong();   // ring steps that disagreed or stalled, redone from the client's copy
    /**
     * Per decode step the client drives (push and relay; a ring's steps need none), what it adds between
     * steps: from the last result of a step reaching it to the next step's first frame handed to the
     * transport; its head, sampler and embedding included.
     */
    public final LatencyHistogram turnaround = new LatencyHistogram();
    /** The part of {@link #turnaround} before the client's thread took the step's last result: the hand-off from the transport's thread. */
    public final LatencyHistogram resultWait = new LatencyHistogram();
}
