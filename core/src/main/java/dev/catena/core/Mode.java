package dev.catena.core;

import dev.catena.core.client.RemoteSession;

/** How hidden states travel between the servers of a route. */
public enum Mode {
    /** Each server pushes its output straight to the next one; the client still validates every hop. */
    PUSH,
    /** Every hidden state goes back through the client, which forwards it to the next server. */
    RELAY;

    RemoteSession.Mode internal() {
        return this == PUSH ? RemoteSession.Mode.PUSH : RemoteSession.Mode.RELAY;
    }
}
