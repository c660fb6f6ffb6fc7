package dev.catena.core.client;

import dev.catena.api.spi.SamplingParams;
import dev.catena.transport.proto.RingRole;
import dev.catena.transport.proto.RingSampling;

/**
 * What the last server of a ring needs to sample exactly as the client does: the sampling
 * parameters and seed, the tokens the sampler accepted before (the prompt), and where to stop.
 *
 * @param stopPosition no token is fed at this position or later (the generation's max tokens)
 * @param window       steps the servers may run beyond the client's verified position
 */
public record RingSpec(SamplingParams sampling, int[] history, int stopPosition, boolean stopAtEos, int window) {
    public static final int DEFAULT_WINDOW = 8;

    public RingSpec {
        if (window < 1 || window > 64) throw new IllegalArgumentException("the ring window is 1..64 steps, got " + window);
        history = history.clone();
    }

    /** The part in the ring of a hop that starts the route ({@code first}), ends it ({@code last}), or neither. */
    RingRole role(boolean first, boolean last) {
        var role = RingRole.newBuilder().setWindow(window).setEmbeds(first);
        if (last) {
            var s = RingSampling.newBuilder().setGreedy(sampling.greedy()).setTemperature(sampling.temperature())
                    .setTopK(Math.max(0, sampling.topK())).setTopP(sampling.topP()).setMinP(sampling.minP())
                    .setRepeatPenalty(sampling.repeatPenalty()).setRepeatLastN(Math.max(0, sampling.repeatLastN()))
                    .setSeed(sampling.seed()).setStopPosition(stopPosition).setStopAtEos(stopAtEos);
            for (int t : history) s.addHistory(t);
            role.setSampling(s);
        }
        return role.build();
    }
}
