package dev.catena.bench;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.llama.LlamaOracle;
import dev.catena.ffm.llama.WeightLoading;
import dev.catena.ffm.llama.OracleOptions;
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

/**
 * {@code ./catena bench compute}: single-span compute against llama.cpp's own llama_decode, same model
 * file, same threads, same process, interleaved rounds: prefill of {@code P} tokens and greedy-free
 * decode of {@code N} tokens (fixed token ids, so both sides do identical work). Reports medians and
 * the ratios as one JSON line on stdout; progress per round on stderr.
 */
@Command(name = "compute", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Catena's span compute against llama.cpp's llama_decode: same model, threads and process, "
                + "interleaved rounds. Prints one JSON line (medians and ratios); progress on stderr."})
public final class ComputeBench implements Callable<Integer> {

    /** A round: throughput, and each decode step's nanoseconds (whose median shrugs off preemption). */
    record Timing(double prefillTokensPerSecond, double decodeTokensPerSecond, long[] decodeStepNanos) {
    }

    /** The JSON line, snake_case. */
    record Result(String model, int threads, String cpuVariant, String baselineWeights, int prefillTokens, int decodeTokens,
                  int rounds, Speeds catena, Speeds llamaCpp, Ratio ratio, double loadAverage, long kvBytesPerToken, long weightBytes,
                  long rssBytesBefore, long rssBytesLoaded) {
    }

    /**
     * Medians, and the slowest and fastest round of each, so a noisy run shows as one; and the median
     * decode step over all rounds' steps, in microseconds.
     */
    record Speeds(double prefillTps, double decodeTps, double[] prefillRange, double[] decodeRange, double decodeStepMedianUs) {
    }

    /**
     * Catena over llama.cpp: throughput ratios, and llama.cpp's median decode step over Catena's (above 1
     * when Catena's step is shorter). On a loaded machine the step medians are the steadier figure: a step
     * preempted by other processes lands in the tail, where the median does not look.
     */
    record Ratio(double prefill, double decode, double decodeMedianStep) {
    }

    enum Device { cpu, cuda, auto }

    @ArgGroup(exclusive = true)
    ModelChoice which;

    @Option(names = "--threads", description = "CPU threads for both sides (default: all processors).")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", description = "${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    Device device;

    @Option(names = "--prefill", defaultValue = "512", description = "Prompt tokens (default ${DEFAULT-VALUE}).")
    int prefill;

    @Option(names = "--decode", defaultValue = "32", description = "Decoded tokens (default ${DEFAULT-VALUE}).")
    int decode;

    @Option(names = "--baseline-weights", defaultValue = "memory",
            description = {"How llama.cpp holds its weights: memory (read in, its best where file-backed pages are reclaimed) "
                    + "or mapped (its default mmap). Catena always copies its weights. Default ${DEFAULT-VALUE}."})
    BaselineWeights baselineWeights;

    enum BaselineWeights { memory, mapped }

    @Option(names = "--rounds", defaultValue = "3", description = "Measured rounds after one warm-up (default ${DEFAULT-VALUE}).")
    int rounds;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (prefill < 1 || decode < 1 || rounds < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--prefill, --decode and --rounds must be >= 1");
        }
        int threads = this.threads != null ? this.threads : Runtime.getRuntime().availableProcessors();
        if (threads < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be >= 1");
        Path model = ModelChoice.resolve(which);
        String device = this.device.name();
        int ctx = prefill + decode + 1;
        int[] tokens = tokens(prefill + decode, FfmSpanBackend.instance().inspect(model).nVocab(), new Random(1));
        List<Timing> catena = new ArrayList<>(), llama = new ArrayList<>();
        long kvBytes;
        long weightBytes;
        long rssLoaded;
        long rssBefore = ProcessMemory.residentBytes();
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(model).nLayer();
        try (ModelHead head = backend.openHead(model, new SpanOptions(threads, device));
             FfmSpan span = (FfmSpan) backend.openSpan(model, 0, nLayer, new SpanOptions(threads, device));
             LlamaOracle oracle = LlamaOracle.open(model, new OracleOptions(ctx, threads, null, null, 0, 0, device,
                     baselineWeights == BaselineWeights.memory ? WeightLoading.IN_MEMORY : WeightLoading.DEFAULT))) {
            weightBytes = span.weightBytes();
            try (SpanSession s = span.openSession(SessionOptions.of(ctx))) {
                kvBytes = s.kvBytes();
            }
            try (var progress = BenchProgress.start("rounds", rounds + 1)) {
                for (int r = 0; r <= rounds; r++) { // round 0 warms up both
                    // The order alternates by round, so that neither side always runs on the other's leftovers.
                    Timing c, l;
                    if (r % 2 == 0) {
                        c = runCatena(head, span, tokens, prefill, ctx);
                        l = runLlama(oracle, tokens, prefill);
                    } else {
                        l = runLlama(oracle, tokens, prefill);
                        c = runCatena(head, span, tokens, prefill, ctx);
                    }
                    if (r > 0) {
                        catena.add(c);
                        llama.add(l);
                    }
                    progress.step(String.format(Locale.ROOT, "round %d: catena prefill %.1f t/s decode %.2f t/s | llama.cpp prefill %.1f t/s "
                            + "decode %.2f t/s", r, c.prefillTokensPerSecond(), c.decodeTokensPerSecond(), l.prefillTokensPerSecond(),
                            l.decodeTokensPerSecond()));
                }
            }
            // With Catena's span and head and llama.cpp's model all loaded and used.
            rssLoaded = ProcessMemory.residentBytes();
        }
        Speeds cs = speeds(catena), ls = speeds(llama);
        spec.commandLine().getOut().println(Report.json(new Result(model.getFileName().toString(), threads, cpuVariant(),
                baselineWeights.name(), prefill, decode, rounds, cs, ls,
                new Ratio(cs.prefillTps() / ls.prefillTps(), cs.decodeTps() / ls.decodeTps(),
                        ls.decodeStepMedianUs() / cs.decodeStepMedianUs()), loadAverage(), kvBytes / ctx, weightBytes, rssBefore,
                rssLoaded)));
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static Timing runCatena(ModelHead head, FfmSpan span, int[] tokens, int prefill, int ctx) {
        try (SpanSession s = span.openSession(SessionOptions.of(ctx))) {
            long t0 = System.nanoTime();
            int[] prompt = Arrays.copyOf(tokens, prefill);
            // Only the last row goes to the LM head, as in llama.cpp (its last FFN runs on that row alone).
            float[] h = s.forward(head.embed(prompt), prefill, 0, true);
            head.logits(h, 1, List.of(0));
            long t1 = System.nanoTime();
            long[] steps = new long[tokens.length - prefill];
            for (int i = prefill; i < tokens.length; i++) {
                long s0 = System.nanoTime();
                float[] x = s.forward(head.embed(new int[]{tokens[i]}), 1, i, true);
                head.logits(x, 1, List.of(0));
                steps[i - prefill] = System.nanoTime() - s0;
            }
            long t2 = System.nanoTime();
            return new Timing(prefill / ((t1 - t0) / 1e9), (tokens.length - prefill) / ((t2 - t1) / 1e9), steps);
        }
    }

    private static Timing runLlama(LlamaOracle oracle, int[] tokens, int prefill) {
        oracle.truncate(0);
        long t0 = System.nanoTime();
        oracle.decode(Arrays.copyOf(tokens, prefill), 0);
        long t1 = System.nanoTime();
        long[] steps = new long[tokens.length - prefill];
        for (int i = prefill; i < tokens.length; i++) {
            long s0 = System.nanoTime();
            oracle.decode(new int[]{tokens[i]}, i);
            steps[i - prefill] = System.nanoTime() - s0;
        }
        long t2 = System.nanoTime();
        return new Timing(prefill / ((t1 - t0) / 1e9), (tokens.length - prefill) / ((t2 - t1) / 1e9), steps);
    }

    /** Seeded token ids of the vocabulary, past its first (special) entries. */
    private static int[] tokens(int n, int nVocab, Random random) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(Math.min(3, nVocab - 1), nVocab);
        return t;
    }

    private static Speeds speeds(List<Timing> rounds) {
        double[] p = rounds.stream().mapToDouble(Timing::prefillTokensPerSecond).sorted().toArray();
        double[] d = rounds.stream().mapToDouble(Timing::decodeTokensPerSecond).sorted().toArray();
        double[] steps = rounds.stream().flatMapToLong(t -> Arrays.stream(t.decodeStepNanos())).mapToDouble(n -> n / 1e3)
                .toArray();
        return new Speeds(median(p), median(d), new double[]{p[0], p[p.length - 1]}, new double[]{d[0], d[d.length - 1]},
                median(steps));
    }

    /**
     * The ggml CPU library this process loaded (ggml picks the best variant for the CPU, e.g. haswell or zen4).
     * Both sides run in this process, so both use it.
     */
    static String cpuVariant() {
        try {
            return java.nio.file.Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .map(l -> l.substring(l.lastIndexOf('/') + 1))
                    .filter(f -> f.startsWith("libggml-cpu")).findFirst().orElse("unknown");
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The median of {@code v} (not changed), the mean of the middle two for an even count. */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** The one-minute load average when the rounds ended (Linux), so a reader knows how loaded the machine was. */
    static double loadAverage() {
        try {
            return Double.parseDouble(java.nio.file.Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }
}
