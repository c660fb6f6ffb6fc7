package dev.catena.core.client;

/**
 * What spot checks may replay, in hop-steps: a check replays a hop's whole history (its output depends on every input
 * before it), so a check at position t costs t steps of another server's work, not one. Each step a client runs
 * earns {@code fraction} of its hop-steps, and each check made is charged its whole cost. It is run as a debt: a drawn
 * check is made whenever the balance is not negative, and its cost may take it below zero, to be earned back before the
 * next. So the replayed work is the fraction of the work run, in the long run, whatever the generations' lengths, and
 * the checked positions stay as uniform as the draws: a budget that had to hold a check's cost first made only cheap,
 * early checks (cheap draws kept spending it), and never checked late positions. Client-wide, across generations.
 */
final class ReplayBudget {
    private double balance;

    /** Adds {@code hopSteps} of replay work earned. */
    synchronized void earn(double hopSteps) {
        balance += hopSteps;
    }

    /** Charges a check of {@code hopSteps} if the balance is not negative (it may go below zero); false if it is. */
    synchronized boolean spend(long hopSteps) {
        if (balance < 0) return false;
        balance -= hopSteps;
        return true;
    }
}
