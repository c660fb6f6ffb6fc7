package dev.catena.bench;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.llama.LlamaOracle;
import dev.catena.ffm.llama.OracleOptions;
import dev.catena.ffm.span.FfmSpan;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Single-span compute against llama.cpp's own llama_decode, same model file, same threads, same
 * process, interleaved rounds: prefill of {@code P} tokens and greedy-free decode of {@code N}
 * tokens (fixed token ids, so both sides do identical work). Reports medians and the ratios.
 *
 * <pre>java -cp ... dev.catena.bench.ComputeBench [--model GGUF | --preset llama32-1b-q8_0|llama32-1b-q4_k]
 *     [--threads T] [--device cpu|cuda] [--prefill 512] [--decode 32] [--rounds 3]</pre>
 */
public final class ComputeBench {

    record Timing(double prefillTokensPerSecond, double decodeTokensPerSecond) {
    }

    public static void main(String[] args) throws Exception {
        Path model = null;
        String preset = null;
        int threads = Runtime.getRuntime().availableProcessors();
        int prefill = 512, decode = 32, rounds = 3;
        String device = "cpu";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[++i]);
                case "--preset" -> preset = args[++i];
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--device" -> device = args[++i];
                case "--prefill" -> prefill = Integer.parseInt(args[++i]);
                case "--decode" -> decode = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (model == null) {
            // Neither given: the demo model the repository ships (the launcher runs from the checkout).
            model = preset != null ? Presets.model(preset) : Path.of("models/stories260K.gguf");
        }
        int ctx = prefill + decode + 1;
        int[] tokens = tokens(prefill + decode, FfmSpanBackend.instance().inspect(model).nVocab(), new Random(1));
        List<Timing> catena = new ArrayList<>(), llama = new ArrayList<>();
        long kvBytes;
        long weightBytes;
        long rssLoaded;
        long rssBefore = residentBytes();
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(model).nLayer();
        try (ModelHead head = backend.openHead(model, new SpanOptions(threads, device));
             FfmSpan span = (FfmSpan) backend.openSpan(model, 0, nLayer, new SpanOptions(threads, device));
             LlamaOracle oracle = LlamaOracle.open(model, new OracleOptions(ctx, threads, null, null, 0, 0, device))) {
            weightBytes = span.weightBytes();
            try (SpanSession s = span.openSession(SessionOptions.of(ctx))) {
                kvBytes = s.kvBytes();
            }
            for (int r = 0; r <= rounds; r++) { // round 0 warms up both
                Timing c = runCatena(head, span, tokens, prefill, ctx);
                Timing l = runLlama(oracle, tokens, prefill);
                if (r > 0) {
                    catena.add(c);
                    llama.add(l);
                }
                System.err.printf(Locale.ROOT, "round %d: catena prefill %.1f t/s decode %.2f t/s | llama.cpp prefill %.1f t/s decode %.2f t/s%n",
                        r, c.prefillTokensPerSecond(), c.decodeTokensPerSecond(), l.prefillTokensPerSecond(), l.decodeTokensPerSecond());
            }
            // With Catena's span and head and llama.cpp's model all loaded and used.
            rssLoaded = residentBytes();
        }
        double cp = median(catena.stream().mapToDouble(Timing::prefillTokensPerSecond).toArray());
        double cd = median(catena.stream().mapToDouble(Timing::decodeTokensPerSecond).toArray());
        double lp = median(llama.stream().mapToDouble(Timing::prefillTokensPerSecond).toArray());
        double ld = median(llama.stream().mapToDouble(Timing::decodeTokensPerSecond).toArray());
        Runtime rt = Runtime.getRuntime();
        System.out.printf(Locale.ROOT, "{\"model\":\"%s\",\"threads\":%d,\"prefill_tokens\":%d,\"decode_tokens\":%d,\"rounds\":%d,"
                        + "\"catena\":{\"prefill_tps\":%.2f,\"decode_tps\":%.3f},\"llama_cpp\":{\"prefill_tps\":%.2f,\"decode_tps\":%.3f},"
                        + "\"ratio\":{\"prefill\":%.3f,\"decode\":%.3f},\"kv_bytes_per_token\":%d,\"weight_bytes\":%d,"
                        + "\"rss_bytes_before\":%d,\"rss_bytes_loaded\":%d}%n",
                model.getFileName(), threads, prefill, decode, rounds, cp, cd, lp, ld, cp / lp, cd / ld,
                kvBytes / ctx, weightBytes, rssBefore, rssLoaded);
    }

    private static Timing runCatena(ModelHead head, FfmSpan span, int[] tokens, int prefill, int ctx) {
        try (SpanSession s = span.openSession(SessionOptions.of(ctx))) {
            long t0 = System.nanoTime();
            int[] prompt = Arrays.copyOf(tokens, prefill);
            // Only the last row goes to the LM head, as in llama.cpp (its last FFN runs on that row alone).
            float[] h = s.forward(head.embed(prompt), prefill, 0, true);
            head.logits(h, 1, List.of(0));
            long t1 = System.nanoTime();
            for (int i = prefill; i < tokens.length; i++) {
                float[] x = s.forward(head.embed(new int[]{tokens[i]}), 1, i, true);
                head.logits(x, 1, List.of(0));
            }
            long t2 = System.nanoTime();
            return new Timing(prefill / ((t1 - t0) / 1e9), (tokens.length - prefill) / ((t2 - t1) / 1e9));
        }
    }

    private static Timing runLlama(LlamaOracle oracle, int[] tokens, int prefill) {
        oracle.truncate(0);
        long t0 = System.nanoTime();
        oracle.decode(Arrays.copyOf(tokens, prefill), 0);
        long t1 = System.nanoTime();
        for (int i = prefill; i < tokens.length; i++) {
            oracle.decode(new int[]{tokens[i]}, i);
        }
        long t2 = System.nanoTime();
        return new Timing(prefill / ((t1 - t0) / 1e9), (tokens.length - prefill) / ((t2 - t1) / 1e9));
    }

    /** Seeded token ids of the vocabulary, past its first (special) entries. */
    private static int[] tokens(int n, int nVocab, Random random) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(Math.min(3, nVocab - 1), nVocab);
        return t;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static long residentBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException ignored) {
            // not Linux: report 0
        }
        return 0;
    }
}
