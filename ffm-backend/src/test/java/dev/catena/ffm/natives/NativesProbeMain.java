package dev.catena.ffm.natives;

import dev.catena.api.BackendUnavailableException;

/** Run in a child JVM by {@link NativesLoadingErrorsTest}: loads the natives and prints the outcome. */
public final class NativesProbeMain {
    public static void main(String[] args) {
        try {
            LlamaNatives.lookup();
            System.out.println("LOADED " + LlamaNatives.directory());
        } catch (BackendUnavailableException e) {
            System.out.println("UNAVAILABLE " + e.getMessage());
            System.exit(4);
        }
    }
}
