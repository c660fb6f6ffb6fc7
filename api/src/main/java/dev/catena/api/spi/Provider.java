package dev.catena.api.spi;

import java.util.Optional;

/**
 * What every pluggable implementation (span backend, transport) tells the runtime that picks one.
 * Found with {@link java.util.ServiceLoader}; the constructor must not throw, so that a broken
 * provider reports itself through {@link #unavailabilityCause()} instead of breaking discovery.
 */
public abstract class Provider {

    /** Short name users pass on the command line, e.g. {@code ffm} or {@code netty}. */
    public abstract String name();

    /** 0 to 10; 5 is the default. Higher wins among available providers, ties break by class name. */
    public int priority() {
        return 5;
    }

    /** Whether this provider can be used in this JVM; computed once and cheap to ask again. */
    public boolean isAvailable() {
        return unavailabilityCause().isEmpty();
    }

    /** Why this provider cannot be used, when it cannot. */
    public abstract Optional<Throwable> unavailabilityCause();
}
