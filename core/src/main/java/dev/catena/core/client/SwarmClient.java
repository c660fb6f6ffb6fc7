package dev.catena.core.client;

import dev.catena.transport.spi.Transport;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A client's connections to servers, one per address, shared by its sessions. */
public final class SwarmClient implements AutoCloseable {
    private final Transport transport;
    private final Duration requestTimeout;
    private final Map<String, ServerLink> links = new ConcurrentHashMap<>();
    private final ClientCounters counters = new ClientCounters();

    public SwarmClient(Transport transport, Duration requestTimeout) {
        this.transport = transport;
        this.requestTimeout = requestTimeout;
    }

    /** The open link to {@code address}, connecting (and handshaking) when there is none. */
    public ServerLink link(String address) {
        ServerLink link = links.get(address);
        if (link != null && link.isOpen()) {
            return link;
        }
        ServerLink fresh = ServerLink.connect(transport, address, requestTimeout);
        links.put(address, fresh);
        return fresh;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    public ClientCounters counters() {
        return counters;
    }

    /** Bytes this client sent to each server. */
    public Map<String, Long> bytesSent() {
        Map<String, Long> m = new java.util.TreeMap<>();
        links.forEach((a, l) -> m.put(a, l.bytesSent()));
        return m;
    }

    @Override
    public void close() {
        links.values().forEach(ServerLink::close);
        links.clear();
    }
}
