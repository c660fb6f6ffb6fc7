package dev.catena.ffm.span;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.head.OldHeadPath;
import dev.catena.ffm.llama.LlamaOracle;
import dev.catena.ffm.llama.OracleOptions;
import dev.catena.ffm.llama.WeightLoading;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.catena.ffm.internal.ggml_h.GGML_TYPE_F16;

/**
 * For instruction counts under callgrind (not a test; see BENCHMARKS.md): loads the model, prefills
 * {@code position} tokens, runs {@code warmup} decode steps so the JIT settles, then {@code steps} more,
 * every step at the same position (truncated back first) on one path: {@code api} (head.embed,
 * session.forward, head.logits of the build on the class path), {@code old} (the replica of the step
 * before graph reuse, as in {@link DecodeStepProfile}) or {@code llama} (llama_decode of one token).
 * Two runs that differ only in {@code steps}, or only in the build on the class path, give instructions
 * by subtraction; callgrind's per-function counts give the native parts. Position 0 skips the prefill.
 * <pre>valgrind --tool=callgrind java ... dev.catena.ffm.span.DecodeStepCount GGUF api|old|llama POSITION WARMUP STEPS</pre>
 */
public final class DecodeStepCount {
    public static void main(String[] args) {
        Path model = Path.of(args[0]);
        String mode = args[1];
        int position = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int steps = Integer.parseInt(args[4]);
        int ctx = position + 512; // both sides attend to the same 256 cells (llama.cpp pads its context to 256)
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(model).nLayer();
        int[] tokens = new Random(1).ints(position + 1, 3, backend.inspect(model).nVocab()).toArray();
        int[] prompt = Arrays.copyOf(tokens, position);
        int[] next = {tokens[position]};
        float sink = 0;
        switch (mode) {
            case "api" -> {
                try (ModelHead head = backend.openHead(model, SpanOptions.cpu(1));
                     FfmSpan s = (FfmSpan) backend.openSpan(model, 0, nLayer, SpanOptions.cpu(1));
                     SpanSession session = s.openSession(SessionOptions.of(ctx))) {
                    if (position > 0) {
                        head.logits(session.forward(head.embed(prompt), position, 0, true), 1, List.of(0));
                    }
                    for (int i = 0; i < warmup + steps; i++) {
                        session.truncate(position);
                        sink += head.logits(session.forward(head.embed(next), 1, position, true), 1, List.of(0))[0];
                    }
                }
            }
            case "old" -> {
                try (FfmSpan s = (FfmSpan) backend.openSpan(model, 0, nLayer, SpanOptions.cpu(1));
                     OldHeadPath head = new OldHeadPath(model);
                     GraphRunner runner = new GraphRunner(s.backend(), BlockGraph.maxNodes(nLayer));
                     KvCache kv = new KvCache(s.hparams(), nLayer, ctx, GGML_TYPE_F16(), s.backend())) {
                    var layers = s.layers(new BlockRange(0, nLayer));
                    long[] ph = new long[8];
                    if (position > 0) {
                        head.logits(DecodeStepProfile.oldStep(runner, s, s.hparams(), layers, kv, head.embed(prompt), position,
                                0, ph));
                    }
                    for (int i = 0; i < warmup + steps; i++) {
                        sink += head.logits(DecodeStepProfile.oldStep(runner, s, s.hparams(), layers, kv, head.embed(next), 1,
                                position, ph))[0];
                    }
                }
            }
            case "llama" -> {
                try (LlamaOracle oracle = LlamaOracle.open(model, new OracleOptions(ctx, 1, null, null, 0, 0, "cpu",
                        WeightLoading.IN_MEMORY))) {
                    if (position > 0) {
                        oracle.decode(prompt, 0);
                    }
                    for (int i = 0; i < warmup + steps; i++) {
                        oracle.truncate(position);
                        sink += oracle.decode(next, position)[0];
                    }
                }
            }
            default -> throw new IllegalArgumentException("mode is api, old or llama, not " + mode);
        }
        System.out.println(mode + " " + steps + " steps done (" + sink + ")");
    }
}
