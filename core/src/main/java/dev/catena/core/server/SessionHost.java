package dev.catena.core.server;

import dev.catena.transport.spi.Frame;

/** What a session needs from the server hosting it: its peers, its counters, and where to report a bad sender. */
interface SessionHost {
    /** The address this server gives as the sender of its pushes. */
    String address();

    ServerCounters counters();

    /** Fire-and-forget to the peer clients name {@code address}; a peer that cannot be reached loses the push. */
    void push(String address, Frame push);

    /** Starts connecting to a peer in the background, so that the connection is usually up by the first push. */
    void connectToPeer(String address);

    /** A sender whose push differed from the client's copy of the same input. */
    void recordInconsistent(String sender);
}
