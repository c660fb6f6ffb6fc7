package dev.catena.api.spi;

/**
 * A span's turn on its device ({@link Span#awaitComputeTurn()}): while it is held, the span's computes on the
 * holding thread start without waiting for other computes sharing the device. Closed once, on the thread
 * that took it.
 */
@FunctionalInterface
public interface ComputeTurn extends AutoCloseable {
    /** A turn that holds nothing: for devices that do not make computes wait for each other. */
    ComputeTurn NONE = () -> {
    };

    /** Gives the device back to the computes waiting for it. */
    @Override
    void close();
}
