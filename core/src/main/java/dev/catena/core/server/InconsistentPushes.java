package dev.catena.core.server;

import dev.catena.transport.proto.SignedStatement;

import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a server kept of pushes that proved different from the clients' copies of the same inputs: the
 * senders, with how often, and the latest signed pushes as evidence. Thread-safe: sessions report from
 * their own threads.
 */
final class InconsistentPushes {
    private static final int EVIDENCE_KEPT = 64;

    private final Map<String, AtomicLong> senders = new ConcurrentHashMap<>();
    /** Newest last, at most {@link #EVIDENCE_KEPT}. */
    private final Deque<SignedStatement> evidence = new ConcurrentLinkedDeque<>();

    void recordSender(String sender) {
        senders.computeIfAbsent(sender == null || sender.isEmpty() ? "(unknown)" : sender, k -> new AtomicLong()).incrementAndGet();
    }

    void recordEvidence(SignedStatement push) {
        evidence.addLast(push);
        while (evidence.size() > EVIDENCE_KEPT) evidence.pollFirst();
    }

    /** The latest signed pushes kept, oldest first. */
    List<SignedStatement> evidence() {
        return List.copyOf(evidence);
    }

    /** Senders with how often, by name. */
    Map<String, Long> senders() {
        Map<String, Long> m = new TreeMap<>();
        senders.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }
}
