package dev.catena.transport.spi;

/** A bound server endpoint. */
public interface Listener extends AutoCloseable {

    /** The address peers connect to, {@code host:port}; the real port when 0 was asked for. */
    String address();

    /** Stops accepting and closes every accepted connection. Idempotent. */
    @Override
    void close();
}
