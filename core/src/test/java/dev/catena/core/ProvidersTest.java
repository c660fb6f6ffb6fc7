package dev.catena.core;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.spi.Provider;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProvidersTest {

    static class Fake extends Provider {
        final String name;
        final int priority;
        final Throwable cause;

        Fake(String name, int priority, Throwable cause) {
            this.name = name;
            this.priority = priority;
            this.cause = cause;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public Optional<Throwable> unavailabilityCause() {
            return Optional.ofNullable(cause);
        }
    }

    static final class OtherFake extends Fake {
        OtherFake(String name, int priority) {
            super(name, priority, null);
        }
    }

    @Test
    void higherPriorityFirstThenClassName() {
        var low = new Fake("low", 1, null);
        var highB = new OtherFake("b", 9);
        var highA = new Fake("a", 9, null);
        var sorted = Providers.sorted(List.of(low, highB, highA));
        // Same priority: ProvidersTest$Fake sorts before ProvidersTest$OtherFake.
        assertEquals(List.of(highA, highB, low), sorted);
    }

    @Test
    void skipsUnavailableProviders() {
        var broken = new Fake("broken", 10, new IllegalStateException("no natives"));
        var fine = new Fake("fine", 1, null);
        assertSame(fine, Providers.select(Providers.sorted(List.of(broken, fine)), null, "span backend", "x:y"));
    }

    @Test
    void noProviderNamesTheArtifactToAdd() {
        var e = assertThrows(BackendUnavailableException.class,
                () -> Providers.select(List.<Fake>of(), null, "transport", "dev.catena:catena-transport-netty"));
        assertTrue(e.getMessage().contains("add a dependency on dev.catena:catena-transport-netty"), e.getMessage());
    }

    @Test
    void allUnavailableReportsEachCause() {
        var broken = new Fake("ffm", 5, new IllegalStateException("libllama missing"));
        var e = assertThrows(BackendUnavailableException.class,
                () -> Providers.select(List.of(broken), null, "span backend", "x:y"));
        assertTrue(e.getMessage().contains("ffm: libllama missing"), e.getMessage());
        assertSame(broken.cause, e.getCause());
    }

    @Test
    void unknownNameListsWhatExists() {
        var e = assertThrows(BackendUnavailableException.class,
                () -> Providers.select(List.of(new Fake("ffm", 5, null)), "cuda-magic", "span backend", "x:y"));
        assertTrue(e.getMessage().contains("no span backend named 'cuda-magic'; found: ffm"), e.getMessage());
    }
}
