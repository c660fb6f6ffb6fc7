package dev.catena.ffm.head;

import dev.catena.api.SpanInputException;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.TemplateMessage;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.ggml.HostCopies;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.llama.LlamaChatTemplate;
import dev.catena.ffm.llama.LlamaModel;
import dev.catena.ffm.llama.LlamaSamplerChain;
import dev.catena.ffm.llama.LlamaVocab;
import dev.catena.ffm.model.ModelHparams;
import dev.catena.ffm.model.Weights;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The client's part of a model on ggml: embeddings, final norm and LM head (loaded the way
 * llama.cpp loads them: the embedding matrix plain for row lookups, the output matrix into the
 * buffer type its matrix product prefers), and llama.cpp's tokenizer from a vocab-only load.
 */
public final class FfmModelHead implements ModelHead {
    private static final String TOKEN_EMBD = "token_embd.weight";
    private static final String OUTPUT_NORM = "output_norm.weight";
    private static final String OUTPUT = "output.weight";

    private final ModelHparams hp;
    private final GgmlBackend backend;
    private final Weights embeddings;   // token_embd, for get_rows
    private final Weights outputs;      // output_norm and output (or token_embd again when tied), for the LM head
    private final String outputName;
    private final GraphRunner embedRunner;  // one runner per graph, so that each keeps its graph between steps
    private final GraphRunner logitsRunner;
    private final LlamaModel vocabModel;
    private final LlamaVocab vocab;
    private final AtomicBoolean closed = new AtomicBoolean();

    private FfmModelHead(ModelHparams hp, GgmlBackend backend, Weights embeddings, Weights outputs, String outputName,
                         LlamaModel vocabModel) {
        this.hp = hp;
        this.backend = backend;
        this.embeddings = embeddings;
        this.outputs = outputs;
        this.outputName = outputName;
        this.embedRunner = new GraphRunner(backend, 8);
        this.logitsRunner = new GraphRunner(backend, 16);
        this.vocabModel = vocabModel;
        this.vocab = vocabModel.vocab();
    }

    public static FfmModelHead open(Path model, SpanOptions options) {
        GgufFile file = GgufFile.read(model);
        ModelHparams hp = ModelHparams.of(file);
        // Tied embeddings: llama.cpp loads token_embd a second time as the output matrix.
        String outputName = file.tensor(OUTPUT).isPresent() ? OUTPUT : TOKEN_EMBD;
        GgmlBackend backend = GgmlBackend.forDevice(options.device(), options.threads());
        Weights embeddings = null;
        Weights outputs = null;
        try {
            embeddings = Weights.load(file, List.of(TOKEN_EMBD), List.of(), backend);
            outputs = Weights.load(file, List.of(OUTPUT_NORM, outputName), List.of(outputName), backend);
            return new FfmModelHead(hp, backend, embeddings, outputs, outputName, LlamaModel.vocabOnly(model));
        } catch (RuntimeException e) {
            if (outputs != null) outputs.close();
            if (embeddings != null) embeddings.close();
            backend.close();
            throw e;
        }
    }

    @Override
    public int nEmbd() {
        return hp.nEmbd();
    }

    @Override
    public int nVocab() {
        return hp.nVocab();
    }

    @Override
    public int[] tokenize(String text, boolean addSpecial) {
        return vocab.tokenize(text, addSpecial);
    }

    @Override
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        return vocab.tokenize(text, addSpecial, parseSpecial);
    }

    @Override
    public Optional<String> chatTemplate() {
        return vocabModel.chatTemplate();
    }

    @Override
    public Optional<String> applyChatTemplate(String template, List<TemplateMessage> messages, boolean addAssistant) {
        return LlamaChatTemplate.apply(template, messages, addAssistant);
    }

    @Override
    public String detokenize(int[] tokens) {
        return vocab.detokenize(tokens);
    }

    @Override
    public boolean isEndOfGeneration(int token) {
        return vocab.isEndOfGeneration(token);
    }

    @Override
    public float[] embed(int[] tokens) {
        if (tokens.length == 0) {
            throw new SpanInputException("no tokens to embed");
        }
        for (int t : tokens) {
            if (t < 0 || t >= hp.nVocab()) {
                throw new SpanInputException("token id " + t + " is outside the vocabulary [0, " + hp.nVocab() + ")");
            }
        }
        // Token ids are the only input: one graph per count of tokens, reused while the count repeats.
        return embedRunner.run(tokens.length, ctx -> HeadGraphs.embed(ctx, embeddings.get(TOKEN_EMBD), tokens.length),
                (g, b) -> {
                    HostCopies.write(g.ids(), tokens, tokens.length);
                    b.computeUngated(g.graph());
                    return HostCopies.readF32(g.output());
                });
    }

    @Override
    public float[] logits(float[] hidden, int n, List<Integer> rows) {
        if (n < 1 || hidden.length != (long) n * hp.nEmbd()) {
            throw new SpanInputException("hidden states must hold n * n_embd = " + n + " * " + hp.nEmbd() + " floats, got "
                    + hidden.length);
        }
        if (rows.isEmpty() || rows.stream().anyMatch(r -> r < 0 || r >= n)) {
            throw new SpanInputException("rows " + rows + " must be a non-empty subset of [0, " + n + ")");
        }
        int[] rowIds = rows.stream().mapToInt(Integer::intValue).toArray();
        return logitsRunner.run(new LogitsShape(n, rowIds.length), ctx -> HeadGraphs.logits(ctx, outputs.get(OUTPUT_NORM),
                outputs.get(outputName), hp.rmsEps(), hp.nEmbd(), n, rowIds.length), (g, b) -> {
            HostCopies.write(g.hidden(), hidden, hidden.length);
            HostCopies.write(g.rows(), rowIds, rowIds.length);
            b.computeUngated(g.graph());
            return HostCopies.readF32(g.output());
        });
    }

    /** The LM head's graph depends on the rows given and the rows wanted; which rows is an input. */
    private record LogitsShape(int n, int rows) {
    }

    @Override
    public Sampler sampler(SamplingParams params) {
        return LlamaSamplerChain.create(params, hp.nVocab());
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            logitsRunner.close();
            embedRunner.close();
            outputs.close();
            embeddings.close();
        } finally {
            try {
                vocabModel.close();
            } finally {
                backend.close();
            }
        }
    }
}
