package dev.catena.bench;

import dev.catena.api.spi.BatchStep;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.llama.LlamaModel;
import dev.catena.ffm.llama.LlamaSequences;
import dev.catena.ffm.llama.OracleOptions;
import dev.catena.ffm.llama.WeightLoading;
import dev.catena.ffm.span.FfmSpan;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/**
 * {@code ./catena bench batch}: aggregate decode throughput of B sessions whose steps run as one batch
 * ({@code Span.forwardBatch}, what a batching server runs), against llama.cpp decoding B sequences in
 * one {@code llama_decode} per step (kv_unified off, weights in memory), same model, threads and
 * process, rounds interleaved. Both compute every sequence's logits each step. One JSON line.
 */
@Command(name = "batch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Batched decode of B sessions on one span against llama.cpp's batched decode of B sequences: "
                + "aggregate tokens/s and ratios per B. Prints one JSON line; progress on stderr."})
public final class BatchBench implements Callable<Integer> {

    record Row(int sessions, double catenaTps, double llamaCppTps, double ratio, double[] catenaRange, double[] llamaCppRange) {
    }

    record Result(String model, int threads, String cpuVariant, int promptTokens, int decodeTokens, int rounds, List<Row> batches,
                  double loadAverage) {
    }

    @ArgGroup(exclusive = true)
    ModelChoice which;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads for both sides (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--sessions", split = ",", defaultValue = "1,2,4,8,16", description = "Batch sizes B (default ${DEFAULT-VALUE}).")
    int[] sessions;

    @Option(names = "--prompt", defaultValue = "16", description = "Prompt tokens per session, prefilled first, not timed (default ${DEFAULT-VALUE}).")
    int prompt;

    @Option(names = "--decode", defaultValue = "32", description = "Decode steps timed per round (default ${DEFAULT-VALUE}).")
    int decode;

    @Option(names = "--rounds", defaultValue = "3", description = "Measured rounds per B after one warm-up (default ${DEFAULT-VALUE}).")
    int rounds;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (prompt < 1 || decode < 1 || rounds < 1 || threads < 1 || Arrays.stream(sessions).anyMatch(b -> b < 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--prompt, --decode, --rounds, --threads and every --sessions must be >= 1");
        }
        Path model = ModelChoice.resolve(which);
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(model).nLayer();
        int ctx = prompt + decode + 1;
        OracleOptions options = new OracleOptions(ctx, threads, null, null, 0, 0, "cpu", WeightLoading.IN_MEMORY);
        List<Row> rows = new ArrayList<>();
        try (ModelHead head = backend.openHead(model, SpanOptions.cpu(threads));
             FfmSpan span = (FfmSpan) backend.openSpan(model, 0, nLayer, SpanOptions.cpu(threads));
             LlamaModel llamaModel = LlamaModel.load(model, threads, "cpu", WeightLoading.IN_MEMORY);
             var progress = BenchProgress.start("batch sizes", sessions.length * (rounds + 1))) {
            for (int b : sessions) {
                List<Double> catena = new ArrayList<>(), llama = new ArrayList<>();
                try (LlamaSequences seqs = LlamaSequences.open(llamaModel, options, b)) {
                    for (int r = 0; r <= rounds; r++) { // round 0 warms up both
                        int[][] tokens = tokens(b, prompt + decode, head.nVocab(), new Random(r));
                        // The order alternates by round, so that neither side always runs on the other's leftovers.
                        double c, l;
                        if (r % 2 == 0) {
                            c = runCatena(head, span, tokens, ctx);
                            l = runLlama(seqs, tokens, prompt, decode);
                        } else {
                            l = runLlama(seqs, tokens, prompt, decode);
                            c = runCatena(head, span, tokens, ctx);
                        }
                        if (r > 0) {
                            catena.add(c);
                            llama.add(l);
                        }
                        progress.step(String.format(Locale.ROOT, "B=%d round %d: catena %.1f t/s | llama.cpp %.1f t/s", b, r, c, l));
                    }
                }
                double cm = ComputeBench.median(catena.stream().mapToDouble(Double::doubleValue).toArray()),
                        lm = ComputeBench.median(llama.stream().mapToDouble(Double::doubleValue).toArray());
                rows.add(new Row(b, cm, lm, cm / lm, range(catena), range(llama)));
            }
        }
        spec.commandLine().getOut().println(Report.json(new Result(model.getFileName().toString(), threads, ComputeBench.cpuVariant(),
                prompt, decode, rounds, rows, ComputeBench.loadAverage())));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** Seeded tokens: per session its prompt, then one token per decode step ({@code length} in all). */
    static int[][] tokens(int b, int length, int nVocab, Random random) {
        int[][] t = new int[b][length];
        for (int[] row : t) {
            for (int i = 0; i < row.length; i++) row[i] = random.nextInt(Math.min(3, nVocab - 1), nVocab);
        }
        return t;
    }

    /** Aggregate decode tokens/s of B sessions stepped as one batch, the logits of every row computed. */
    private double runCatena(ModelHead head, FfmSpan span, int[][] tokens, int ctx) {
        int b = tokens.length;
        List<SpanSession> sessions = new ArrayList<>();
        try {
            for (int[] t : tokens) {
                SpanSession s = span.openSession(SessionOptions.of(ctx));
                sessions.add(s);
                head.logits(s.forward(head.embed(Arrays.copyOf(t, prompt)), prompt, 0, true), 1, List.of(0));
            }
            List<Integer> allRows = IntStream.range(0, b).boxed().toList();
            long t0 = System.nanoTime();
            for (int i = prompt; i < prompt + decode; i++) {
                int step = i;
                float[] embedded = head.embed(Arrays.stream(tokens).mapToInt(t -> t[step]).toArray());
                int nEmbd = embedded.length / b;
                List<BatchStep> steps = new ArrayList<>(b);
                for (int s = 0; s < b; s++) {
                    steps.add(BatchStep.decode(sessions.get(s), Arrays.copyOfRange(embedded, s * nEmbd, (s + 1) * nEmbd), i, true));
                }
                var results = span.forwardBatch(steps);
                float[] hidden = new float[b * nEmbd];
                for (int s = 0; s < b; s++) System.arraycopy(results.get(s).get(), 0, hidden, s * nEmbd, nEmbd);
                head.logits(hidden, b, allRows);
            }
            return (double) b * decode / ((System.nanoTime() - t0) / 1e9);
        } finally {
            sessions.forEach(SpanSession::close);
        }
    }

    /** Aggregate decode tokens/s of llama.cpp decoding the sequences' tokens after their prompts, one llama_decode per step. */
    static double runLlama(LlamaSequences seqs, int[][] tokens, int prompt, int decode) {
        seqs.clear();
        for (int s = 0; s < tokens.length; s++) seqs.prefill(s, Arrays.copyOf(tokens[s], prompt));
        long t0 = System.nanoTime();
        for (int i = prompt; i < prompt + decode; i++) {
            int step = i;
            seqs.decodeEach(Arrays.stream(tokens).mapToInt(t -> t[step]).toArray());
        }
        return (double) tokens.length * decode / ((System.nanoTime() - t0) / 1e9);
    }


    private static double[] range(List<Double> v) {
        return new double[]{v.stream().mapToDouble(Double::doubleValue).min().orElse(0), v.stream().mapToDouble(Double::doubleValue).max().orElse(0)};
    }
}
