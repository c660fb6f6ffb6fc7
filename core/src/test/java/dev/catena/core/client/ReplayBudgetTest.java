package dev.catena.core.client;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The replay budget as {@link SpotChecker#afterStep} uses it: checks cost their fraction, at any position. */
class ReplayBudgetTest {
    static final long SEED = 1717;

    @Test
    void checksReplayTheirFractionOfTheWorkAndReachLatePositions() {
        double fraction = 0.01;
        int hops = 2, tokens = 500, generations = 2000;
        var budget = new ReplayBudget();
        var random = new SplittableRandom(SEED);
        List<Integer> checked = new ArrayList<>();
        long replayed = 0;
        for (int g = 0; g < generations; g++) {
            for (int t = 1; t <= tokens; t++) { // after step t a hop's history holds t steps
                budget.earn(fraction * hops);
                if (random.nextDouble() < fraction && budget.spend(t)) {
                    checked.add(t);
                    replayed += t;
                }
            }
        }
        double work = (double) hops * tokens * generations;
        long late = checked.stream().filter(t -> t > tokens / 2).count();
        assertTrue(replayed <= fraction * work + tokens, "seed " + SEED + ": replayed " + replayed + " of " + work);
        assertTrue(replayed >= 0.9 * fraction * work, "seed " + SEED + ": the budget is used, " + replayed + " of " + work);
        // Draws are uniform over positions, so about half the checks should land past the middle. A budget that
        // had to hold a check's cost first made none there (checked positions stayed under ~170).
        assertTrue(late >= checked.size() / 3, "seed " + SEED + ": " + late + " of " + checked.size() + " checks past position " + tokens / 2);
    }
}
