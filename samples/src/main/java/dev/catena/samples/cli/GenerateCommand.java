package dev.catena.samples.cli;

import dev.catena.core.Catena;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code catena generate}: Catena's own path, with the blocks either in this process ({@code --local})
 * or on running servers ({@code --peers}).
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates text with Catena's own span compute.",
                "--local runs the client head and the spans (--split) in this process;",
                "--peers runs the client head here and the blocks on those servers."})
final class GenerateCommand implements Callable<Integer> {

    @CommandLine.Mixin
    GeneratorOptions generator;

    @Option(names = "--prompt", required = true)
    String prompt;

    @Option(names = "-n", defaultValue = "64", description = "Tokens to generate (default ${DEFAULT-VALUE}); stops early at end of text.")
    int n;

    @CommandLine.Mixin
    SamplingOptions sampling;

    @Option(names = "--ignore-eos", description = "Generate exactly N tokens, through end-of-text tokens (as ./catena oracle does).")
    boolean ignoreEos;

    @Option(names = "--json", description = "Print {\"tokens\":[...],\"text\":\"...\",\"tokens_per_s\":...}.")
    boolean json;

    @Option(names = "--logits", paramLabel = "FILE", description = "Also write every step's logits (raw little-endian float32, one row per token).")
    Path logitsFile;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be >= 1, got " + n);
        }
        PrintWriter out = spec.commandLine().getOut();
        try {
            var builder = GenerationRequest.builder(prompt).maxTokens(n).stopAtEndOfText(!ignoreEos);
            if (logitsFile != null) builder.keepLogits();
            var request = sampling.apply(builder).build();
            Generation g;
            String text;
            try (Generator loaded = generator.build(spec.commandLine())) {
                g = loaded.generate(request);
                List<Integer> all = new ArrayList<>(g.promptTokens());
                all.addAll(g.tokens());
                text = loaded.detokenize(all); // prompt and continuation, as detokenized together
            }
            if (logitsFile != null) {
                LogitsFile.write(logitsFile, g.logits());
            }
            if (json) {
                var o = new LinkedHashMap<String, Object>();
                o.put("tokens", g.tokens());
                o.put("text", text);
                o.put("tokens_per_s", Math.round(g.stats().tokensPerSecond() * 10) / 10.0);
                out.println(Json.write(o));
            } else {
                out.println(text);
                out.printf("%n%d tokens, prefill %.3f s, %.1f tokens/s%n", g.tokens().size(), g.stats().prefillSeconds(),
                        g.stats().tokensPerSecond());
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        out.flush();
        return 0;
    }
}
