package dev.catena.ffm.llama;

import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.natives.NativeHandle;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.function.Function;

import static dev.catena.ffm.internal.llama_h.*;

/** What {@link LlamaOracle} and {@link LlamaSequences} share: loading their model and making a llama.cpp context on it. */
final class LlamaContexts {
    private LlamaContexts() {
    }

    /**
     * Loads the model on {@code options}' device, threads and weight loading, and makes {@code open} of it;
     * the model is closed when {@code open} fails.
     */
    static <T> T onLoaded(Path path, OracleOptions options, Function<LlamaModel, T> open) {
        LlamaModel loaded = LlamaModel.load(path, options.threads(), options.device(), options.weights());
        try {
            return open.apply(loaded);
        } catch (RuntimeException | Error e) {
            loaded.close();
            throw e;
        }
    }

    /**
     * A context on {@code model} ({@code llama_init_from_model}) with {@code params}, freed when the handle closes.
     *
     * @throws IllegalStateException naming {@code what} was asked and llama.cpp's reason, when it refuses
     */
    static NativeHandle create(LlamaModel model, MemorySegment params, String what) {
        LlamaNatives.clearErrors();
        MemorySegment ctx = llama_init_from_model(model.handle(), params);
        if (ctx.equals(MemorySegment.NULL)) {
            throw new IllegalStateException(model.path() + ": llama.cpp cannot create a context " + what + ": "
                    + LlamaNatives.takeErrors().orElse("no reason given"));
        }
        return new NativeHandle("llama context", ctx, c -> llama_free(c));
    }

    /** {@code make} of a new context; the context is closed (before its model) when {@code make} fails. */
    static <T> T wrap(NativeHandle context, Function<NativeHandle, T> make) {
        try {
            return make.apply(context);
        } catch (RuntimeException | Error e) {
            context.close();
            throw e;
        }
    }
}
