package dev.catena.core.client;

/**
 * What spot checks may replay, in hop-steps: a check replays a hop's whole history (its output depends on every input
 * before it), so a check at position t costs t steps of another server's work, not one. Each step a client runs
 * earns {@code fraction} of its hop-steps; a check is made only when the budget pays for its replay. So the fraction
 * is of the work, as its name says ("re-run 1 % of the steps"), whatever the generations' lengths: without the
 * budget, 1 % per step replayed about fraction x tokens / 2 times the route's work (2.5x at 500 tokens). Client-wide
 * and carried across generations, so that short generations add up to the long replays that late positions need.
 */
final class ReplayBudget {
    private double available;

    /** Adds {@code hopSteps} of replay work earned. */
    synchronized void earn(double hopSteps) {
        available += hopSteps;
    }

    /** Takes {@code hopSteps} if the budget holds them; false (and nothing taken) if not. */
    synchronized boolean spend(long hopSteps) {
        if (available < hopSteps) return false;
        available -= hopSteps;
        return true;
    }
}
