package dev.catena.ffm;

import dev.catena.api.DeviceInfo;
import dev.catena.api.ModelInfo;
import dev.catena.api.spi.SpanBackend;
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
}
