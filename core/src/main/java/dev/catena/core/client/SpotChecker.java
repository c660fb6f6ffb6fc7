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
 * there (a hop's output depends on every input before it) and every output compared, bit for bit (both
 * servers run the same backend build on the same device kind; see the README for mixed swarms). On a
 * disagreement a third server replays the same inputs and decides: the odd one out is convicted (never
 * used again by this client, and replaced in the route at the next step), and the three servers' signed
 * results are kept as a proof (see {@link ProofCheck}, the majority rule).
 */
final class SpotChecker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SpotChecker.class.getName());

    private final SwarmClient client;
    private final Directory directory;
    private final SessionSpec spec;
    private final double fraction;
    private final SplittableRandom random;
    private final java.util.function.Supplier<Set<String>> excluded;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("catena-spot-check").factory());
    private final java.time.Duration stepTimeout;
    private volatile boolean busy;

    /** @param excluded servers not to check with (banned now); read when a check starts */
    SpotChecker(SwarmClient client, Directory directory, SessionSpec spec, double fraction, long seed, java.util.function.Supplier<Set<String>> excluded,
                java.time.Duration stepTimeout) {
        this.client = client;
        this.directory = directory;
        this.spec = spec;
        this.fraction = fraction;
        this.random = new SplittableRandom(seed);
        this.excluded = excluded;
        this.stepTimeout = stepTimeout;
    }

    /** After a valid step: with probability {@code fraction}, checks a random hop in the background (one check at a time). */
    void afterStep(RemoteSession session) {
        if (fraction <= 0 || random.nextDouble() >= fraction || busy) return;
        HopSession.Snapshot hop = session.snapshot(random.nextInt(session.size()));
        if (hop.history().isEmpty()) return;
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

    private record Run(String address, PublicKey key, List<StepResult> results) {
    }

    private void check(HopSession.Snapshot hop) {
        List<String> avoid = new ArrayList<>(List.of(hop.hop().address()));
        String checker = pick(hop.hop().blocks(), avoid);
        if (checker == null) return; // no other server hosts these blocks: nothing to compare with
        Run second = replay(checker, hop, hop.history().size());
        int at = second.results().size() - 1;
        byte[] claimed = hop.history().get(at).outputDigest();
        if (Arrays.equals(second.results().getLast().getOutputDigest().toByteArray(), claimed)) return; // agreed on every step
        client.counters().spotCheckDisagreements.incrementAndGet();
        avoid.add(checker);
        String judge = pick(hop.hop().blocks(), avoid);
        if (judge == null) {
            LOG.log(System.Logger.Level.WARNING, "spot check: {0} and {1} disagree at position {2}; no third server to decide",
                    hop.hop().address(), checker, hop.history().get(at).position());
            return;
        }
        Run third = replay(judge, hop, at + 1);
        byte[] verdict = third.results().getLast().getOutputDigest().toByteArray();
        String odd;
        if (Arrays.equals(verdict, second.results().getLast().getOutputDigest().toByteArray())) odd = hop.hop().address();
        else if (Arrays.equals(verdict, claimed)) odd = checker;
        else {
            LOG.log(System.Logger.Level.WARNING, "spot check: three servers gave three answers at position {0}",
                    hop.history().get(at).position());
            return;
        }
        List<StepResult> original = hop.history().subList(0, at + 1).stream().map(sent -> sent.signedResult(stepTimeout)).toList();
        var proof = Proof.newBuilder().setVersion(1).setNote("spot check of blocks " + hop.hop().blocks() + ": " + odd
                + " disagreed with the two other servers that computed on the same inputs");
        for (Run r : List.of(new Run(hop.hop().address(), hop.key(), original), second, third)) {
            for (StepResult result : r.results()) proof.addStatements(ProofCheck.of(result, r.key(), r.address()));
        }
        client.convict(odd, proof.build());
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
        return options.isEmpty() ? null : options.get(random.nextInt(options.size()));
    }

    private Run replay(String address, HopSession.Snapshot hop, int limit) {
        try (var session = RemoteSession.open(client, spec.modelId(), spec.nEmbd(), List.of(new Hop(address, hop.hop().blocks())),
                RemoteSession.Mode.RELAY, spec.maxLength(), spec.wire(), stepTimeout, hop.endsTheModel())) {
            List<StepResult> results = session.replay(hop.history(), limit);
            return new Run(address, client.link(address).publicKey(), results);
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
