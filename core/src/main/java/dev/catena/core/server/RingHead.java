package dev.catena.core.server;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;

import java.nio.file.Path;

/** Ring mode: a server's model head, opened when the first ring session needs it and shared by them all. */
final class RingHead implements AutoCloseable {
    private final SpanBackend backend;
    private final Path model;
    private final SpanOptions options;
    private ModelHead head;
    private boolean closed;

    RingHead(SpanBackend backend, Path model, SpanOptions options) {
        this.backend = backend;
        this.model = model;
        this.options = options;
    }

    /** @throws UnsupportedOperationException once the server is closing */
    synchronized ModelHead get() {
        if (closed) throw new UnsupportedOperationException("the server is closing");
        if (head == null) head = backend.openHead(model, options);
        return head;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (head != null) head.close();
    }
}
