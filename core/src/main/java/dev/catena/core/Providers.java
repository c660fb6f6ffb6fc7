package dev.catena.core;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.spi.Provider;

import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/** Orders providers found by ServiceLoader and picks one, with errors that name the fix. */
final class Providers {
    /** Highest priority first; ties break by class name so that the choice is stable. */
    static final Comparator<Provider> PREFERENCE = Comparator.comparingInt(Provider::priority).reversed()
            .thenComparing(p -> p.getClass().getName());

    private Providers() {
    }

    static <P extends Provider> List<P> sorted(Iterable<P> found) {
        var list = new java.util.ArrayList<P>();
        found.forEach(list::add);
        list.sort(PREFERENCE);
        return List.copyOf(list);
    }

    /**
     * The preferred available provider, or the one named (when {@code name} is not null).
     *
     * @param kind      what is being chosen, for messages ("span backend")
     * @param artifact  the artifact that brings the default implementation, for messages
     */
    static <P extends Provider> P select(List<P> providers, String name, String kind, String artifact) {
        if (providers.isEmpty()) {
            throw new BackendUnavailableException("no " + kind + " provider on the class or module path: add a dependency on "
                    + artifact);
        }
        var candidates = name == null ? providers
                : providers.stream().filter(p -> p.name().equals(name)).toList();
        if (candidates.isEmpty()) {
            throw new BackendUnavailableException("no " + kind + " named '" + name + "'; found: "
                    + providers.stream().map(Provider::name).collect(Collectors.joining(", ")));
        }
        for (P p : candidates) {
            if (p.isAvailable()) {
                return p;
            }
        }
        var first = candidates.getFirst();
        var causes = candidates.stream()
                .map(p -> p.name() + ": " + p.unavailabilityCause().map(Throwable::getMessage).orElse("unknown"))
                .collect(Collectors.joining("; "));
        throw new BackendUnavailableException("no usable " + kind + " (" + causes + ")",
                first.unavailabilityCause().orElse(null));
    }
}
