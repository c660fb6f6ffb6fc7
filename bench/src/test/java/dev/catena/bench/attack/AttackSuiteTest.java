package dev.catena.bench.attack;

import dev.catena.bench.BenchCliAccess;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The attack suite's own pieces; the suite itself runs against server processes in samples' AttackSuiteIT. */
class AttackSuiteTest {

    @Test
    void blocksAreSplitEvenlyWithNoneDropped() {
        assertEquals(List.of("0:2", "2:4", "4:5"), AttackSuite.split(5, 3));
        assertEquals(List.of("0:3", "3:5"), AttackSuite.split(5, 2));
    }

    @Test
    void theMedianIsTheMiddleStep() {
        assertEquals(2.0, AttackSuite.p50(List.of(3.0, 1.0, 2.0)));
        assertEquals(Double.NaN, AttackSuite.p50(List.of()));
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, BenchCliAccess.run("attack", "--scale", "moon"));
        assertEquals(2, BenchCliAccess.run("attack", "--attacks", "nope", "--repo", ".."));
    }
}
