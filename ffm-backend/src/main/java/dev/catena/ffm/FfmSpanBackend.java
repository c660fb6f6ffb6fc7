package dev.catena.ffm;

import dev.catena.api.DeviceInfo;
import dev.catena.api.ModelInfo;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.ffm.head.FfmModelHead;
import dev.catena.ffm.span.FfmSpan;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.natives.LlamaNatives;

import java.nio.file.Path;
import java.util.List;

/** The span backend on llama.cpp's ggml. One per JVM: the natives it wraps are process-wide. */
public final class FfmSpanBackend implements SpanBackend {
    private static final FfmSpanBackend INSTANCE = new FfmSpanBackend();

    private FfmSpanBackend() {
    }

    /** The backend; loads the natives on first use, or throws why they cannot be loaded. */
    public static FfmSpanBackend instance() {
        LlamaNatives.lookup();
        return INSTANCE;
    }

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public String engineVersion() {
        return "llama.cpp " + LlamaNatives.RELEASE;
    }

    @Override
    public List<DeviceInfo> devices() {
        return Devices.list();
    }

    @Override
    public ModelInfo inspect(Path model) {
        return ModelInfos.of(GgufFile.read(model));
    }

    @Override
    public Span openSpan(Path model, int start, int end, SpanOptions options) {
        return FfmSpan.open(model, start, end, options, ModelInfos::of);
    }

    @Override
    public ModelHead openHead(Path model, SpanOptions options) {
        return FfmModelHead.open(model, options);
    }

    /** llama.cpp's own decoder over the whole model on the CPU ({@link dev.catena.ffm.llama.LlamaOracle}). */
    @Override
    public dev.catena.api.spi.ReferenceDecoder openReference(Path model, dev.catena.api.spi.ReferenceOptions options) {
        return dev.catena.ffm.llama.LlamaOracle.openReference(model, options);
    }
}
