package dev.catena.ffm.span;

import dev.catena.api.spi.BatchStep;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.HostCopies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a span's batch of steps: the single-token steps of distinct sessions on the same blocks and
 * KV type go through one {@link BatchGraph}; any other step (a prefill, a second step of a session
 * already in the batch, a lone session) runs on its own, as {@code forward} would.
 */
final class BatchStepper {
    private BatchStepper() {
    }

    /** What sessions must share to be computed in one graph. */
    private record GroupKey(dev.catena.api.BlockRange blocks, boolean flash) {
    }

    /** What a batch graph's structure depends on: the caches it writes and reads, their attended cells, the blocks. */
    private record Shape(List<KvCache> kvs, List<Integer> nKv, GroupKey group) {
    }

    static List<BatchStep.Result> run(FfmSpan span, List<BatchStep> steps) {
        BatchStep.Result[] results = new BatchStep.Result[steps.size()];
        Map<GroupKey, List<Integer>> groups = new LinkedHashMap<>();
        List<Integer> alone = new ArrayList<>();
        Set<FfmSpanSession> batched = new HashSet<>();
        for (int i = 0; i < steps.size(); i++) {
            BatchStep s = steps.get(i);
            if (s.n() == 1 && s.session() instanceof FfmSpanSession f && f.span() == span && batched.add(f)) {
                groups.computeIfAbsent(new GroupKey(f.blocks, f.flash()), k -> new ArrayList<>()).add(i);
            } else {
                alone.add(i); // after the batches: a session's second step follows its first
            }
        }
        for (var e : groups.entrySet()) {
            if (e.getValue().size() == 1) {
                int i = e.getValue().getFirst();
                results[i] = solo(steps.get(i));
            } else {
                runGroup(span, e.getKey(), steps, e.getValue(), results);
            }
        }
        for (int i : alone) {
            results[i] = solo(steps.get(i));
        }
        return Arrays.asList(results);
    }

    private static BatchStep.Result solo(BatchStep s) {
        try {
            return BatchStep.Result.of(s.session().forward(s.hidden(), s.n(), s.position(), s.lastOnly()));
        } catch (RuntimeException e) {
            return BatchStep.Result.failed(e);
        }
    }

    private static void runGroup(FfmSpan span, GroupKey key, List<BatchStep> steps, List<Integer> indices,
                                 BatchStep.Result[] results) {
        List<Integer> order = new ArrayList<>(indices);
        order.sort(Comparator.comparingLong(i -> session(steps, i).lockOrder));
        List<FfmSpanSession> locked = new ArrayList<>();
        try {
            List<Integer> ready = new ArrayList<>();
            for (int i : order) {
                FfmSpanSession f = session(steps, i);
                f.lock().lock();
                locked.add(f);
                try {
                    f.checkStep(steps.get(i).hidden(), 1, steps.get(i).position());
                    ready.add(i);
                } catch (RuntimeException bad) {
                    results[i] = BatchStep.Result.failed(bad); // alone: the others still run
                }
            }
            if (ready.size() == 1) {
                results[ready.getFirst()] = solo(steps.get(ready.getFirst())); // the lock is reentrant
            } else if (!ready.isEmpty()) {
                compute(span, key, steps, ready, results);
            }
        } finally {
            for (FfmSpanSession f : locked.reversed()) {
                f.lock().unlock();
            }
        }
    }

    private static FfmSpanSession session(List<BatchStep> steps, int i) {
        return (FfmSpanSession) steps.get(i).session();
    }

    /** One graph for the ready steps (their sessions locked and their inputs checked). */
    private static void compute(FfmSpan span, GroupKey key, List<BatchStep> steps, List<Integer> ready,
                                BatchStep.Result[] results) {
        int b = ready.size();
        int nEmbd = span.hparams().nEmbd();
        List<KvCache> kvs = new ArrayList<>(b);
        int[] nKv = new int[b];
        for (int s = 0; s < b; s++) {
            FfmSpanSession f = session(steps, ready.get(s));
            int position = steps.get(ready.get(s)).position();
            f.setLength(position); // a re-send truncates first: if the step fails, the session is consistent here
            kvs.add(f.kv());
            nKv[s] = f.attended(position + 1);
        }
        FfmSpanSession first = session(steps, ready.getFirst());
        var shape = new Shape(kvs, Arrays.stream(nKv).boxed().toList(), key);
        try {
            float[] out = span.compute().run(shape, BatchGraph.maxNodes(first.layers().size(), b),
                    ctx -> BatchGraph.build(ctx, span.hparams(), first.layers(), kvs, nKv, key.flash(), span.ropeFactors()),
                    (g, backend) -> run(g, backend, steps, ready, nKv, nEmbd));
            for (int s = 0; s < b; s++) {
                int i = ready.get(s);
                session(steps, i).setLength(steps.get(i).position() + 1);
                results[i] = BatchStep.Result.of(Arrays.copyOfRange(out, s * nEmbd, (s + 1) * nEmbd));
            }
        } catch (RuntimeException failed) {
            for (int i : ready) {
                results[i] = BatchStep.Result.failed(failed);
            }
        }
    }

    private static float[] run(BatchGraph.Built g, GgmlBackend backend, List<BatchStep> steps, List<Integer> ready,
                               int[] nKv, int nEmbd) {
        int b = ready.size();
        float[] input = new float[b * nEmbd];
        int[] positions = new int[b];
        long[] cells = new long[b];
        for (int s = 0; s < b; s++) {
            BatchStep step = steps.get(ready.get(s));
            System.arraycopy(step.hidden(), 0, input, s * nEmbd, nEmbd);
            positions[s] = step.position();
            cells[s] = step.position();
            session(steps, ready.get(s)).writeCausalMask(g.masks()[s], 1, step.position(), nKv[s]);
        }
        HostCopies.write(g.input(), input, input.length);
        HostCopies.write(g.positions(), positions, b);
        HostCopies.write(g.kvIndices(), cells, b);
        backend.compute(g.graph());
        return HostCopies.readF32(g.output());
    }
}
