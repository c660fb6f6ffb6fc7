package dev.catena.testing;

import dev.catena.api.DeviceInfo;
import dev.catena.api.ModelInfo;
import dev.catena.api.SpanInputException;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.ReferenceDecoder;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A deterministic backend without natives: token t embeds as {@code [t, 0, ...]}, every block adds
 * 1 to element 0, and the LM head's argmax is element 0 modulo the vocabulary. So with L blocks the
 * model continues t with t + L, whatever the split; token {@link #EOS} ends generation.
 */
public final class CountingBackend implements SpanBackend {
    public static final int N_EMBD = 4;
    public static final int N_VOCAB = 100;
    public static final int EOS = 99;
    private final int nLayer;
    /** The spans opened so far, as "start:end". */
    public final List<String> opened = new ArrayList<>();
    /** Called before every forward, on the thread that computes the step: tests make a server slow or kill it mid-step. */
    public volatile ForwardHook hook = (blocks, n, position) -> { };
    /**
     * Called on every output before it is returned: a test makes a server lie (e.g. change an element
     * the tokens do not depend on, so that only a comparison of outputs can tell).
     */
    public volatile java.util.function.Consumer<float[]> tamper = out -> { };
    /** What its spans report as {@link Span#computeKind()}: tests make servers of different kinds. */
    public volatile String computeKind = "counting";

    @FunctionalInterface
    public interface ForwardHook {
        void beforeForward(dev.catena.api.BlockRange blocks, int n, int position);
    }

    public CountingBackend(int nLayer) {
        this.nLayer = nLayer;
    }

    @Override public String name() { return "counting"; }
    @Override public String engineVersion() { return "test"; }
    @Override public List<DeviceInfo> devices() { return List.of(); }

    @Override
    public ModelInfo inspect(Path model) {
        return new ModelInfo(model, "counting", "counting", 3, nLayer, N_EMBD, 1, 1, 1, N_VOCAB, 512, "ALL_F32", 0, 0);
    }

    @Override
    public Span openSpan(Path model, int start, int end, SpanOptions options) {
        opened.add(start + ":" + end);
        ModelInfo info = inspect(model);
        return new Span() {
            @Override public ModelInfo model() { return info; }
            @Override public int start() { return start; }
            @Override public int end() { return end; }
            @Override public long weightBytes() { return 0; }
            @Override public String device() { return "none"; }
            @Override public String computeKind() { return computeKind; }
            @Override public void close() { }
            @Override public long kvBytesFor(SessionOptions o) { return 512L * o.blocksWithin(start, end).size() * o.maxLength(); }

            @Override
            public SpanSession openSession(SessionOptions o) {
                var range = o.blocksWithin(start, end);
                int blocks = range.size();
                return new SpanSession() {
                    int length;
                    @Override public int length() { return length; }
                    @Override public int maxLength() { return o.maxLength(); }
                    @Override public long kvBytes() { return 512L * blocks * o.maxLength(); }
                    @Override public void truncate(int position) { length = position; }
                    @Override public void close() { }

                    @Override
                    public float[] forward(float[] hidden, int n, int position, boolean lastOnly) {
                        hook.beforeForward(range, n, position);
                        if (position > length) throw new SpanInputException("position " + position + " > length " + length);
                        float[] out = hidden.clone();
                        for (int i = 0; i < n; i++) out[i * N_EMBD] += blocks;
                        length = position + n;
                        tamper.accept(out);
                        return lastOnly ? java.util.Arrays.copyOfRange(out, (n - 1) * N_EMBD, n * N_EMBD) : out;
                    }
                };
            }
        };
    }

    @Override
    public ModelHead openHead(Path model, SpanOptions options) {
        return new ModelHead() {
            @Override public int nEmbd() { return N_EMBD; }
            @Override public int nVocab() { return N_VOCAB; }
            @Override public boolean isEndOfGeneration(int token) { return token == EOS; }
            @Override public void close() { }

            @Override
            public int[] tokenize(String text, boolean addSpecial) {
                return text.chars().map(c -> c - '0').toArray();
            }

            @Override
            public String detokenize(int[] tokens) {
                var sb = new StringBuilder();
                for (int t : tokens) sb.append(t).append(' ');
                return sb.toString().strip();
            }

            @Override
            public float[] embed(int[] tokens) {
                float[] h = new float[tokens.length * N_EMBD];
                for (int i = 0; i < tokens.length; i++) h[i * N_EMBD] = tokens[i];
                return h;
            }

            @Override
            public float[] logits(float[] hidden, int n, List<Integer> rows) {
                float[] out = new float[rows.size() * N_VOCAB];
                for (int r = 0; r < rows.size(); r++) {
                    out[r * N_VOCAB + ((int) hidden[rows.get(r) * N_EMBD]) % N_VOCAB] = 1f;
                }
                return out;
            }

            @Override
            public Sampler sampler(SamplingParams params) {
                return new Sampler() {
                    @Override
                    public int sample(float[] logits) {
                        int best = 0;
                        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
                        return best;
                    }
                    @Override public void accept(int token) { }
                    @Override public Sampler copy() { return sampler(params); } // stateless: any one is a copy
                    @Override public void close() { }
                };
            }
        };
    }

    @Override
    public ReferenceDecoder openReference(Path model, ReferenceOptions options) {
        throw new UnsupportedOperationException("no reference decoder in the counting backend");
    }
}
