package dev.catena.ffm.ggml;

import dev.catena.ffm.internal.ggml_backend_feature;
import dev.catena.ffm.internal.ggml_backend_get_features_t;
import dev.catena.ffm.natives.LlamaNatives;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * What decides whether two backends' outputs are bit-equal: the llama.cpp build, the device type and,
 * on the CPU, the features the loaded ggml-cpu variant was built with (its SIMD paths: zen4 and
 * haswell round differently), on a GPU its model (e.g. {@code NVIDIA H200}: one arch, one kernel set).
 */
final class ComputeKind {
    private ComputeKind() {
    }

    static String of(GgmlBackend backend) {
        MemorySegment dev = backend.device();
        String prefix = "llama.cpp " + LlamaNatives.RELEASE + "/";
        if (backend.isCpu()) return prefix + "CPU/" + String.join(" ", cpuFeatures(dev));
        return prefix + string(ggml_backend_dev_name(dev)).replaceAll("[0-9]+$", "") + "/" + string(ggml_backend_dev_description(dev));
    }

    /** The loaded CPU variant's build features ({@code ggml_backend_get_features}), e.g. AVX2=1 FMA=1, in ggml's order. */
    private static List<String> cpuFeatures(MemorySegment dev) {
        List<String> out = new ArrayList<>();
        MemorySegment reg = ggml_backend_dev_backend_reg(dev);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fn = ggml_backend_reg_get_proc_address(reg, arena.allocateFrom("ggml_backend_get_features"));
            if (fn.equals(MemorySegment.NULL)) return List.of("unknown-variant");
            long size = ggml_backend_feature.layout().byteSize();
            MemorySegment list = ggml_backend_get_features_t.invoke(fn, reg).reinterpret(Long.MAX_VALUE);
            for (long i = 0; ; i++) {
                MemorySegment feature = list.asSlice(i * size, size);
                MemorySegment name = ggml_backend_feature.name(feature);
                if (name.equals(MemorySegment.NULL)) break;
                out.add(string(name) + "=" + string(ggml_backend_feature.value(feature)));
            }
        }
        return out;
    }

    private static String string(MemorySegment s) {
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
