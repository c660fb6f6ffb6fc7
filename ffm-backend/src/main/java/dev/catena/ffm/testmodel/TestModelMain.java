package dev.catena.ffm.testmodel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Generates preset test models into {@link TestModelCache} (or finds them there) and prints one path per line,
 * for scripts that need a model file on a machine with no Maven (e.g. {@code scripts/device-check.sh}):
 *
 * <pre>java -Dcatena.vocab.dir=DIR ... dev.catena.ffm.testmodel.TestModelMain [--layers N] PRESET...</pre>
 *
 * PRESET is a name from {@link #presets()} ({@code --list} prints them); {@code --layers N} gives the presets after
 * it N blocks (same shapes per block, smaller file).
 */
public final class TestModelMain {
    private TestModelMain() {
    }

    /** The preset names this tool knows. */
    public static Map<String, Supplier<ModelSpec>> presets() {
        Map<String, Supplier<ModelSpec>> p = new LinkedHashMap<>();
        for (ModelSpec s : ModelSpec.smallPresets()) {
            p.put(s.name(), () -> s);
        }
        for (ModelSpec.WeightType t : List.of(ModelSpec.WeightType.Q8_0, ModelSpec.WeightType.Q4_K)) {
            String suffix = t.name().toLowerCase(Locale.ROOT);
            p.put("llama32-1b-" + suffix, () -> ModelSpec.llama32_1B(t));
            p.put("llama31-8b-" + suffix, () -> ModelSpec.llama31_8B(t));
        }
        return p;
    }

    public static void main(String[] args) {
        var presets = presets();
        List<ModelSpec> specs = new ArrayList<>();
        int layers = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--list")) {
                presets.keySet().forEach(System.out::println);
                return;
            } else if (a.equals("--layers") && i + 1 < args.length) {
                layers = Integer.parseInt(args[++i]);
            } else if (presets.containsKey(a)) {
                ModelSpec s = presets.get(a).get();
                specs.add(layers > 0 && layers != s.nLayer() ? s.withLayers(layers) : s);
            } else {
                System.err.println("unknown preset or option '" + a + "'; presets: " + String.join(", ", presets.keySet()));
                System.exit(2);
            }
        }
        if (specs.isEmpty()) {
            System.err.println("usage: TestModelMain [--list] [--layers N] PRESET...");
            System.exit(2);
        }
        for (ModelSpec s : specs) {
            long t0 = System.nanoTime();
            Path file = TestModelCache.get(s);
            System.err.printf(Locale.ROOT, "%s: %s (%.1f s)%n", s.name(), file, (System.nanoTime() - t0) / 1e9);
            System.out.println(file);
        }
    }
}
