package dev.catena.core.server;

import dev.catena.core.metrics.LatencyHistogram;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** What a server did, for tests, benchmarks and {@code ServerInfo}. Thread-safe. */
public final class ServerCounters {
    public final AtomicLong sessionsOpened = new AtomicLong();
    public final AtomicLong steps = new AtomicLong();             // steps computed, from either input
    public final AtomicLong clientSteps = new AtomicLong();       // Step messages received from clients
    public final AtomicLong pushesSent = new AtomicLong();
    public final AtomicLong pushesSuppressed = new AtomicLong();  // not sent: amplification bound reached
    public final AtomicLong pushesReceived = new AtomicLong();
    public final AtomicLong pushesUsed = new AtomicLong();        // computed on before the client's copy came
    public final AtomicLong pushesLate = new AtomicLong();        // came after the client's copy, same bytes
    public final AtomicLong pushesDropped = new AtomicLong();     // unknown session, stale step, wrong position
    public final AtomicLong pushesBadSignature = new AtomicLong(); // dropped: not signed by the key of the connection they came on
    public final AtomicLong mismatched = new AtomicLong();        // a push whose bytes differ from the client's copy
    public final AtomicLong corrected = new AtomicLong();         // results recomputed from the client's copy
    public final AtomicLong lateClientCopies = new AtomicLong();  // client copies that confirmed a pushed input
    public final AtomicLong bytesFromClients = new AtomicLong();  // wire bytes of frames from clients
    public final AtomicLong bytesToPeers = new AtomicLong();      // wire bytes of pushes sent
    public final AtomicLong errors = new AtomicLong();            // error replies sent
    public final AtomicLong computeNanos = new AtomicLong();      // time spent in the span's forward, all steps
    public final AtomicLong ringTokensSent = new AtomicLong();     // ring mode: tokens the last server sent the first
    public final AtomicLong ringTokensReceived = new AtomicLong(); // ring mode: tokens that reached a server
    public final AtomicLong batches = new AtomicLong();           // forwardBatch calls of a batching server
    public final AtomicLong batchedSteps = new AtomicLong();      // steps in them (batchedSteps / batches: the mean batch)
    /**
     * Per step, what the server adds beyond its compute: from the step's input frame reaching the server
     * (a client's step, a push or a ring token) to its first output frame handed to the transport (the push
     * to the next server, the ring token, or for the route's last server its result), minus the span's
     * forward and, in ring mode, the head and sampler.
     */
    public final LatencyHistogram turnaround = new LatencyHistogram();
    /** The part of {@link #turnaround} before compute: from the input's arrival to its forward starting (the hand-off to the session's thread). */
    public final LatencyHistogram inputWait = new LatencyHistogram();

    /** Sets every counter to 0, e.g. after a benchmark's warm-up; counters a step in flight adds to may not read 0 after. */
    public void reset() {
        for (AtomicLong c : List.of(sessionsOpened, steps, clientSteps, pushesSent, pushesSuppressed, pushesReceived, pushesUsed,
                pushesLate, pushesDropped, pushesBadSignature, mismatched, corrected, lateClientCopies, bytesFromClients, bytesToPeers, errors,
                computeNanos, ringTokensSent, ringTokensReceived, batches, batchedSteps)) {
            c.set(0);
        }
        turnaround.reset();
        inputWait.reset();
    }

    /** The counters by the names {@code ServerInfo} reports them under. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("steps", steps.get());
        m.put("client_steps", clientSteps.get());
        m.put("pushes_sent", pushesSent.get());
        m.put("pushes_suppressed", pushesSuppressed.get());
        m.put("pushes_received", pushesReceived.get());
        m.put("pushes_used", pushesUsed.get());
        m.put("pushes_late", pushesLate.get());
        m.put("pushes_dropped", pushesDropped.get());
        m.put("pushes_bad_signature", pushesBadSignature.get());
        m.put("mismatched", mismatched.get());
        m.put("corrected", corrected.get());
        m.put("late_client_copies", lateClientCopies.get());
        m.put("bytes_client_to_server", bytesFromClients.get());
        m.put("bytes_server_to_server", bytesToPeers.get());
        m.put("errors", errors.get());
        m.put("compute_us", computeNanos.get() / 1000);
        m.put("ring_tokens_sent", ringTokensSent.get());
        m.put("ring_tokens_received", ringTokensReceived.get());
        m.put("batches", batches.get());
        m.put("batched_steps", batchedSteps.get());
        m.put("turnaround_count", turnaround.count());
        m.put("turnaround_p50_us", turnaround.percentile(0.5) / 1000);
        m.put("turnaround_p90_us", turnaround.percentile(0.9) / 1000);
        m.put("turnaround_p99_us", turnaround.percentile(0.99) / 1000);
        m.put("input_wait_p50_us", inputWait.percentile(0.5) / 1000);
        m.put("input_wait_p90_us", inputWait.percentile(0.9) / 1000);
        return m;
    }
}
