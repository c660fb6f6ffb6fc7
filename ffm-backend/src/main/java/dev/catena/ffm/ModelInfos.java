package dev.catena.ffm;

import dev.catena.api.ModelFormatException;
import dev.catena.api.ModelInfo;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.gguf.GgufTensor;
import dev.catena.ffm.internal.llama_h;
import dev.catena.ffm.model.ModelHparams;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

/** Reads a model's shape from GGUF metadata with llama.cpp's key names ({@code <arch>.block_count}, ...). */
final class ModelInfos {
    private ModelInfos() {
    }

    static ModelInfo of(GgufFile f) {
        String arch = f.string("general.architecture")
                .orElseThrow(() -> new ModelFormatException(f.path(), "no general.architecture key: not a model file"));
        int nHead = intKey(f, arch + ".attention.head_count", 0);
        return new ModelInfo(f.path(), arch, f.string("general.name").orElse(""), f.version(),
                intKey(f, arch + ".block_count", 0), intKey(f, arch + ".embedding_length", 0), nHead,
                intKey(f, arch + ".attention.head_count_kv", nHead), intKey(f, arch + ".feed_forward_length", 0),
                ModelHparams.vocabSize(f, arch), intKey(f, arch + ".context_length", 0),
                f.integer("general.file_type").map(t -> fileTypeName(t.intValue())).orElseGet(() -> guessedFileType(f)),
                f.tensors().size(), f.fileSize());
    }

    private static int intKey(GgufFile f, String key, int absent) {
        return f.integer(key).map(Math::toIntExact).orElse(absent);
    }

    /**
     * Like llama.cpp when {@code general.file_type} is absent: named after the most common type among
     * the weight matrices, marked as guessed.
     */
    static String guessedFileType(GgufFile f) {
        return f.tensors().stream().filter(t -> t.ne()[1] > 1)
                .collect(java.util.stream.Collectors.groupingBy(GgufTensor::typeName, java.util.stream.Collectors.counting()))
                .entrySet().stream().max(Map.Entry.<String, Long>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
                .map(e -> (e.getKey().equals("f32") ? "ALL_F32" : "MOSTLY_" + e.getKey().toUpperCase(java.util.Locale.ROOT))
                        + " (guessed)")
                .orElse("UNKNOWN");
    }

    /** llama.cpp's names for {@code general.file_type}, read from the bindings' LLAMA_FTYPE_ constants. */
    static String fileTypeName(int fileType) {
        if (fileType < 0) {
            return "UNKNOWN";
        }
        return FileTypes.NAMES.getOrDefault(fileType, "UNKNOWN(" + fileType + ")");
    }

    private static final class FileTypes {
        static final Map<Integer, String> NAMES = load();

        private static Map<Integer, String> load() {
            Map<Integer, String> names = new HashMap<>();
            for (Method m : llama_h.class.getMethods()) {
                if (m.getName().startsWith("LLAMA_FTYPE_") && m.getParameterCount() == 0
                        && Modifier.isStatic(m.getModifiers()) && m.getReturnType() == int.class) {
                    try {
                        names.put((Integer) m.invoke(null), m.getName().substring("LLAMA_FTYPE_".length()));
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
            return Map.copyOf(names);
        }
    }
}
