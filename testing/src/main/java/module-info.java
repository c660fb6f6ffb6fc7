/**
 * Test fixtures for Catena and for plugins: a user-space link proxy with delay, jitter, bandwidth and
 * faults; a deterministic span backend without natives; spans that compute nothing (hop costs); a
 * transport that corrupts pushes as a lying server would. Used by core's tests and the benchmarks.
 */
module dev.catena.testing {
    requires transitive dev.catena.api;
    requires transitive dev.catena.transport.spi;
    exports dev.catena.testing;
}
