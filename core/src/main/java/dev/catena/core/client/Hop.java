package dev.catena.core.client;

import dev.catena.api.BlockRange;

/** One server of a route and the blocks it runs (all of its span or a part). */
public record Hop(String address, BlockRange blocks) {
}
