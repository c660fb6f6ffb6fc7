package dev.catena.core.directory;

import dev.catena.api.BlockRange;

/**
 * What a server announces about itself.
 *
 * @param throughput   steps per second it expects to sustain (higher is better); 0 when unknown
 * @param freeKvTokens tokens of KV cache it could still admit
 */
public record ServerRecord(String address, String modelId, BlockRange span, double throughput, long freeKvTokens,
                           State state) {

    public enum State { ONLINE, JOINING, OFFLINE }

    public static ServerRecord online(String address, String modelId, BlockRange span) {
        return new ServerRecord(address, modelId, span, 0, Long.MAX_VALUE, State.ONLINE);
    }
}
