package dev.catena.bench;

/** {@link BenchCli#run} for tests in other packages. */
public final class BenchCliAccess {
    private BenchCliAccess() {
    }

    public static int run(String... args) {
        return BenchCli.run(args);
    }
}
