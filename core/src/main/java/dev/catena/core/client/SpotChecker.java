package dev.catena.core.client;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.security.ProofCheck;
import dev.catena.transport.proto.Proof;
import dev.catena.transport.proto.StepResult;

import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Spot checks (PROTOCOL.md, security): after a fraction of the steps, off the critical path, one hop of
 * the route is re-run on another server that hosts its blocks: that hop's whole history is replayed
 * there (a hop's output depends on every input before it) and every output compared: bit for bit when
 * both servers state one compute kind in their ServerInfo (backend build and device kind), else within
 * {@link OutputTolerance}. On a disagreement a third server replays the same inputs and decides, compared
 * the same way: the odd one out is convicted (never used again by this client, and replaced in the route
 * at the next step). When all three are of one kind their signed results are kept as a proof (see
 * {@link ProofCheck}, the majority rule); a verdict within a tolerance has no offline proof.
 */
final class SpotChecker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SpotChecker.class.getName());

    private final SwarmClient client;
    private final Directory directory;
    private final SessionSpec spec;
    private final double fraction;
    private final SplittableRandom random;
    /** Which server checks, drawn on the worker thread ({@link #random} is the session's thread's). */
    private final SplittableRandom picks;
    private final java.util.function.Supplier<Set<String>> excluded;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("catena-spot-check").factory());
    private final java.time.Duration stepTimeout;
    private volatile boolean busy;
    /** Each server's compute kind, asked once (only the worker thread reads and writes it). */
    private final java.util.Map<String, String> kinds = new java.util.HashMap<>();

    /** @param excluded servers not to check with (banned now); read when a check starts */
    SpotChecker(SwarmClient client, Directory directory, SessionSpec spec, double fraction, SplittableRandom random, java.util.function.Supplier<Set<String>> excluded,
                java.time.Duration stepTimeout) {
        this.client = client;
        this.directory = directory;
        this.spec = spec;
        this.fraction = fraction;
        this.random = random;
        this.picks = random.split(); // the worker's own: SplittableRandom is not thread-safe
        this.excluded = excluded;
        this.stepTimeout = stepTimeout;
    }

    /**
     * After a valid step: earns {@code fraction} of its hop-steps of replay, and with probability {@code fraction}
     * checks a random hop in the background (one check at a time) unless the replay budget is in debt.
     */
    void afterStep(RemoteSession session) {
        if (fraction <= 0) return;
        client.spotCheckBudget().earn(fraction * session.size());
        if (random.nextDouble() >= fraction || busy) return;
        HopSession.Snapshot hop = session.snapshot(random.nextInt(session.size()));
        if (hop.history().isEmpty()) return;
        if (!client.spotCheckBudget().spend(hop.history().size())) {
            client.counters().spotChecksSkipped.incrementAndGet();
            return;
        }
        busy = true;
        client.counters().spotChecks.incrementAndGet();
        worker.execute(() -> {
            try {
                check(hop);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.INFO, "spot check of {0} not done: {1}", hop.hop().address(), e.getMessage());
            } finally {
                busy = false;
            }
        });
    }

    /** Waits for the check in progress, if any (tests, and closing). */
    void drain() {
        var done = new java.util.concurrent.CompletableFuture<Void>();
        worker.execute(() -> done.complete(null));
        done.orTimeout(60, TimeUnit.SECONDS).exceptionally(t -> null).join();
    }

    /** What one server computed on the hop's inputs, its key, and its compute kind (empty: unknown). */
    private record Run(String address, PublicKey key, String kind, List<HopSession.Sent> sent) {
        HopSession.Sent at(int index) {
            return sent.get(index);
        }
    }

    private void check(HopSession.Snapshot hop) {
        List<String> avoid = new ArrayList<>(List.of(hop.hop().address()));
        String checker = pick(hop.hop().blocks(), avoid);
        if (checker == null) return; // no other server hosts these blocks: nothing to compare with
        Run first = new Run(hop.hop().address(), hop.key(), kindOf(hop.hop().address()), hop.history());
        String checkerKind = kindOf(checker);
        Run second = replay(checker, checkerKind, hop, hop.history().size(), (a, b) -> agree(first.kind(), checkerKind, a, b));
        int at = second.sent().size() - 1;
        if (agree(first, second, at)) return; // agreed on every step
        client.counters().spotCheckDisagreements.incrementAndGet();
        avoid.add(checker);
        String judge = pick(hop.hop().blocks(), avoid);
        if (judge == null) {
            LOG.log(System.Logger.Level.WARNING, "spot check: {0} and {1} disagree at position {2}; no third server to decide",
                    hop.hop().address(), checker, hop.history().get(at).position());
            return;
        }
        String judgeKind = kindOf(judge);
        Run third = replay(judge, judgeKind, hop, at + 1, (a, b) -> true); // all of them: its answer at `at` decides
        boolean withSecond = agree(third, second, at);
        boolean withFirst = agree(third, first, at);
        if (withSecond == withFirst) {
            LOG.log(System.Logger.Level.WARNING, "spot check: the third server agreed with {0} of the two at position {1}; no verdict",
                    withFirst ? "both" : "neither", hop.history().get(at).position());
            return;
        }
        Run odd = withSecond ? first : second;
        // A majority proof states bit-equality (ProofCheck): only when all three are of one known kind.
        boolean oneKind = !first.kind().isEmpty() && first.kind().equals(second.kind()) && first.kind().equals(third.kind());
        if (!oneKind) {
            LOG.log(System.Logger.Level.WARNING, "spot check of blocks {0}: {1} ({2}) is more than {3} away (relative L2 or largest element) from two"
                    + " servers that computed on the same inputs; convicted without an offline proof (compute kinds differ)",
                    hop.hop().blocks(), odd.address(), odd.kind(), client.spotCheckTolerance());
            client.convict(odd.address(), null);
            return;
        }
        List<StepResult> original = hop.history().subList(0, at + 1).stream().map(sent -> sent.signedResult(stepTimeout)).toList();
        var proof = Proof.newBuilder().setVersion(1).setNote("spot check of blocks " + hop.hop().blocks() + ": " + odd.address()
                + " disagreed with the two other servers that computed on the same inputs");
        for (Run r : List.of(first, second, third)) {
            List<StepResult> results = r == first ? original : r.sent().stream().map(HopSession.Sent::result).toList();
            for (StepResult result : results) proof.addStatements(ProofCheck.of(result, r.key(), r.address()));
        }
        client.convict(odd.address(), proof.build());
    }

    private boolean agree(Run a, Run b, int index) {
        return agree(a.kind(), b.kind(), a.at(index), b.at(index));
    }

    /** One known kind: bit-equal outputs; else within {@link OutputTolerance}. */
    private boolean agree(String kindA, String kindB, HopSession.Sent a, HopSession.Sent b) {
        if (!kindA.isEmpty() && kindA.equals(kindB)) return Arrays.equals(a.outputDigest(), b.outputDigest());
        return OutputTolerance.agree(a, b, spec.nEmbd(), client.spotCheckTolerance());
    }

    /** The server's compute kind as its ServerInfo states it, asked once per server; empty when it cannot tell. */
    private String kindOf(String address) {
        return kinds.computeIfAbsent(address, a -> {
            try {
                return client.info(a, client.requestTimeout()).getComputeKind();
            } catch (RuntimeException e) {
                return ""; // unknown: compared within the tolerance, never convicted on bit-equality
            }
        });
    }

    /** A server other than {@code avoid} whose span holds all of {@code blocks}, online, not banned. */
    private String pick(BlockRange blocks, List<String> avoid) {
        Set<String> banned = excluded.get();
        List<String> options = directory.servers(spec.modelId()).stream()
                .filter(s -> s.state() == ServerRecord.State.ONLINE && s.freeKvTokens() >= spec.maxLength())
                .filter(s -> s.span().start() <= blocks.start() && s.span().end() >= blocks.end())
                .map(ServerRecord::address)
                .filter(a -> !avoid.contains(a) && !banned.contains(a) && !client.isConvicted(a))
                .sorted().toList();
        return options.isEmpty() ? null : options.get(picks.nextInt(options.size()));
    }

    private Run replay(String address, String kind, HopSession.Snapshot hop, int limit,
                       java.util.function.BiPredicate<HopSession.Sent, HopSession.Sent> agree) {
        try (var session = RemoteSession.open(client, spec.modelId(), spec.nEmbd(), List.of(new Hop(address, hop.hop().blocks())),
                RemoteSession.Mode.RELAY, spec.maxLength(), spec.wire(), stepTimeout, hop.endsTheModel())) {
            return new Run(address, client.link(address).publicKey(), kind, session.replay(hop.history(), limit, agree));
        }
    }

    /** Lets the check in progress finish (its session closed, so no server keeps one), then stops. */
    @Override
    public void close() {
        worker.shutdown();
        try {
            if (!worker.awaitTermination(stepTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS)) worker.shutdownNow();
        } catch (InterruptedException e) {
            worker.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
