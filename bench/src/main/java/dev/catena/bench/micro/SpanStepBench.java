package dev.catena.bench.micro;

import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One decode step of a span (all blocks of the model, one thread) at a fixed position: the session
 * is truncated back before each step, so every step attends to the same {@code position} cells.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SpanStepBench {
    @Param({"models/stories260K.gguf"})
    String model;

    @Param({"64"})
    int position;

    Span span;
    SpanSession session;
    float[] hidden;

    @Setup
    public void setUp() {
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(Path.of(model)).nLayer();
        span = backend.openSpan(Path.of(model), 0, nLayer, SpanOptions.cpu(1));
        session = span.openSession(SessionOptions.of(position + 16));
        var random = new Random(3);
        int nEmbd = span.model().nEmbd();
        float[] prompt = new float[position * nEmbd];
        for (int i = 0; i < prompt.length; i++) prompt[i] = (float) random.nextGaussian();
        session.forward(prompt, position, 0);
        hidden = new float[nEmbd];
        for (int i = 0; i < nEmbd; i++) hidden[i] = (float) random.nextGaussian();
    }

    @TearDown
    public void tearDown() {
        session.close();
        span.close();
    }

    @Benchmark
    public float[] decodeStep() {
        session.truncate(position);
        return session.forward(hidden, 1, position);
    }
}
