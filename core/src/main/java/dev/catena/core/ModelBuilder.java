package dev.catena.core;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What every builder that loads part of a model takes: the model file, the CPU threads and the
 * device of its compute. {@code B} is the concrete builder, so chained calls keep its type.
 */
public abstract sealed class ModelBuilder<B extends ModelBuilder<B>>
        permits GeneratorBuilder, LocalSwarm.Builder, CatenaServer.Builder {
    final Path model;
    int threads = 1;
    Device device = Device.CPU;

    ModelBuilder(Path model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    @SuppressWarnings("unchecked")
    final B self() {
        return (B) this;
    }

    /** CPU threads of each part this builder starts: a span, a head (default 1). */
    public B threads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        return self();
    }

    /** Where that compute runs (default CPU). */
    public B device(Device device) {
        this.device = Objects.requireNonNull(device, "device");
        return self();
    }
}
