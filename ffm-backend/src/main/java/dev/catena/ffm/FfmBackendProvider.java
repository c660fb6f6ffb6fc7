package dev.catena.ffm;

import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanBackendProvider;
import dev.catena.ffm.natives.LlamaNatives;

import java.util.Optional;

/** Registers {@link FfmSpanBackend}; available when llama.cpp's libraries load in this JVM. */
public final class FfmBackendProvider extends SpanBackendProvider {

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public Optional<Throwable> unavailabilityCause() {
        return LlamaNatives.unavailabilityCause();
    }

    @Override
    public SpanBackend backend() {
        return FfmSpanBackend.instance();
    }
}
