package dev.catena.core;

import dev.catena.api.BlockRange;

/**
 * One server of a generation's route and the blocks it runs there.
 *
 * @param address the server's {@code host:port}
 * @param blocks  the blocks {@code [start, end)} it runs for this route (all of its span or a part)
 */
public record RouteHop(String address, BlockRange blocks) {
    /** {@code host:port [start, end)}. */
    @Override
    public String toString() {
        return address + " " + blocks;
    }
}
