package dev.catena.bench.attack;

import dev.catena.transport.proto.Envelope;

/** What one attack's connections do. Called on the flood's thread only. */
interface FloodBehaviour {
    /** The connection is up; write what it opens with. */
    void opened(FloodConnection c);

    /** Whether the server's replies are parsed and handed to {@link #frame} (else discarded). */
    default boolean parsesReplies() {
        return false;
    }

    default void frame(FloodConnection c, Envelope e) {
    }

    default void tick(FloodConnection c) {
    }

    /** Whether a connection the server closed is opened again. */
    default boolean reconnect() {
        return true;
    }
}
