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
 * Runs a span's batch of steps: the steps of distinct sessions on the same blocks and KV type go
 * through one {@link BatchGraph} (decode steps and prefills alike); any other step (a second step of
 * a session already in the batch, a lone session, a prefill too large to share) runs on its own, as
 * {@code forward} would ({@link BatchStep#forwardAlone}, the SPI's default for every step).
 */
final class BatchStepper {
    /** A prefill whose mask would exceed this many elements runs alone (forward checks and refuses the huge ones). */
    private static final long MAX_MASK = 1L << 24;

    private BatchStepper() {
    }

    /** What sessions must share to be computed in one graph. */
    private record GroupKey(dev.catena.api.BlockRange blocks, boolean flash) {
    }

    /** What a batch graph's structure depends on: the caches it writes and reads, their rows and cells, the blocks. */
    private record Shape(List<KvCache> kvs, List<Integer> rows, List<Integer> nKv, List<Integer> outputs, GroupKey group) {
    }

    static List<BatchStep.Result> run(FfmSpan span, List<BatchStep> steps) {
        BatchStep.Result[] results = new BatchStep.Result[steps.size()];
        Map<GroupKey, List<Integer>> groups = new LinkedHashMap<>();
        List<Integer> alone = new ArrayList<>();
        Set<FfmSpanSession> batched = new HashSet<>();
        for (int i = 0; i < steps.size(); i++) {
            BatchStep s = steps.get(i);
            if (s.session() instanceof FfmSpanSession f && f.span() == span && (long) s.n() * f.maxLength() <= MAX_MASK
                    && batched.add(f)) {
                groups.computeIfAbsent(new GroupKey(f.blocks, f.flash()), k -> new ArrayList<>()).add(i);
            } else {
                alone.add(i); // after the batches: a session's second step follows its first
            }
        }
        for (var e : groups.entrySet()) {
            if (e.getValue().size() == 1) {
                int i = e.getValue().getFirst();
                results[i] = steps.get(i).forwardAlone();
            } else {
                runGroup(span, e.getKey(), steps, e.getValue(), results);
            }
        }
        for (int i : alone) {
            results[i] = steps.get(i).forwardAlone();
        }
        return Arrays.asList(results);
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
                    f.checkStep(steps.get(i).hidden(), steps.get(i).n(), steps.get(i).position());
                    ready.add(i);
                } catch (RuntimeException bad) {
                    results[i] = BatchStep.Result.failed(bad); // alone: the others still run
                }
            }
            if (ready.size() == 1) {
                results[ready.getFirst()] = alone(steps, ready.getFirst()); // checked already: as forward, without the checks
            } else if (!ready.isEmpty()) {
                compute(span, key, steps, ready, results);
            }
        } finally {
            for (FfmSpanSession f : locked.reversed()) {
                f.lock().unlock();
            }
        }
    }

    /** A step whose session is locked and whose input is checked, computed on its own. */
    private static BatchStep.Result alone(List<BatchStep> steps, int i) {
        BatchStep s = steps.get(i);
        try {
            return BatchStep.Result.of(session(steps, i).forwardChecked(s.hidden(), s.n(), s.position(), s.lastOnly()));
        } catch (RuntimeException e) {
            return BatchStep.Result.failed(e);
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
        int[] rows = new int[b];
        int[] nKv = new int[b];
        int[] outputs = new int[b];
        for (int s = 0; s < b; s++) {
            BatchStep step = steps.get(ready.get(s));
            FfmSpanSession f = session(steps, ready.get(s));
            f.setLength(step.position()); // a re-send truncates first: if the step fails, the session is consistent here
            kvs.add(f.kv());
            rows[s] = step.n();
            nKv[s] = f.attended(step.position() + step.n());
            outputs[s] = step.lastOnly() ? 1 : step.n();
        }
        int totalOutputs = Arrays.stream(outputs).sum();
        FfmSpanSession first = session(steps, ready.getFirst());
        var shape = new Shape(kvs, boxed(rows), boxed(nKv), boxed(outputs), key);
        try {
            float[] out = span.compute().run(shape, BatchGraph.maxNodes(first.layers().size(), b),
                    ctx -> BatchGraph.build(ctx, span.hparams(), first.layers(), kvs, rows, nKv, totalOutputs, key.flash(),
                            span.ropeFactors()),
                    (g, backend) -> run(g, backend, steps, ready, rows, nKv, outputs, nEmbd));
            for (int s = 0, row = 0; s < b; row += outputs[s], s++) {
                int i = ready.get(s);
                session(steps, i).setLength(steps.get(i).position() + rows[s]);
                results[i] = BatchStep.Result.of(Arrays.copyOfRange(out, row * nEmbd, (row + outputs[s]) * nEmbd));
            }
        } catch (RuntimeException failed) {
            for (int i : ready) {
                results[i] = BatchStep.Result.failed(failed);
            }
        }
    }

    private static List<Integer> boxed(int[] v) {
        return Arrays.stream(v).boxed().toList();
    }

    private static float[] run(BatchGraph.Built g, GgmlBackend backend, List<BatchStep> steps, List<Integer> ready,
                               int[] rows, int[] nKv, int[] outputs, int nEmbd) {
        int n = Arrays.stream(rows).sum();
        float[] input = new float[n * nEmbd];
        int[] positions = new int[n];
        long[] cells = new long[n];
        int[] outputRows = new int[Arrays.stream(outputs).sum()];
        for (int s = 0, row = 0, out = 0; s < ready.size(); row += rows[s], s++) {
            BatchStep step = steps.get(ready.get(s));
            System.arraycopy(step.hidden(), 0, input, row * nEmbd, rows[s] * nEmbd);
            for (int t = 0; t < rows[s]; t++) {
                positions[row + t] = step.position() + t;
                cells[row + t] = step.position() + t;
                if (t >= rows[s] - outputs[s]) {
                    outputRows[out++] = row + t;
                }
            }
            session(steps, ready.get(s)).writeCausalMask(g.masks()[s], rows[s], step.position(), nKv[s]);
        }
        HostCopies.write(g.input(), input, input.length);
        HostCopies.write(g.positions(), positions, n);
        HostCopies.write(g.kvIndices(), cells, n);
        if (!g.outputRows().equals(java.lang.foreign.MemorySegment.NULL)) {
            HostCopies.write(g.outputRows(), outputRows, outputRows.length);
        }
        backend.compute(g.graph());
        return HostCopies.readF32(g.output());
    }
}
