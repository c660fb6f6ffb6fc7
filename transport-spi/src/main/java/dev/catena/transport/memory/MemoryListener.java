package dev.catena.transport.memory;

import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.TransportException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;

/** A name in the process-wide registry; accepting pairs a new client endpoint with a server one. */
final class MemoryListener implements Listener {
    private final MemoryTransport transport;
    private final String address;
    private final FrameHandler handler;
    private final Set<MemoryConnection> accepted = new HashSet<>(); // guarded by this
    private boolean closed; // guarded by this

    MemoryListener(MemoryTransport transport, String address, FrameHandler handler) {
        this.transport = transport;
        this.address = address;
        this.handler = handler;
    }

    @Override
    public String address() {
        return address;
    }

    /** The server end for {@code client}, which is now paired with it and open. */
    MemoryConnection accept(MemoryConnection client, String clientAddress) {
        var server = new MemoryConnection(transport, handler, clientAddress, this);
        synchronized (this) {
            if (closed) {
                throw new TransportException("cannot connect to " + address + ": the listener closed");
            }
            MemoryConnection.pair(client, server);
            accepted.add(server);
        }
        transport.track(server);
        server.opened();
        return server;
    }

    synchronized void forget(MemoryConnection connection) {
        accepted.remove(connection);
    }

    @Override
    public void close() {
        ArrayList<MemoryConnection> toClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = new ArrayList<>(accepted);
        }
        MemoryTransport.unregister(this);
        transport.forget(this);
        toClose.forEach(MemoryConnection::close);
    }

    @Override
    public String toString() {
        return "MemoryListener[" + address + "]";
    }
}
