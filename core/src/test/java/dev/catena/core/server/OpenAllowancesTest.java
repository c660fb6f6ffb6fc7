package dev.catena.core.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Open allowances on a clock of our own: per client, and one for all newcomers together. */
class OpenAllowancesTest {
    static final long SECOND = 1_000_000_000L;

    /** Opens admitted to {@code client} at {@code now}, taking each, until one is refused or {@code most} are. */
    static int admitted(OpenAllowances a, String client, long now, int most) {
        int n = 0;
        while (n < most && a.refusal(client, now) == null) {
            a.take(client, now);
            n++;
        }
        return n;
    }

    @Test
    void newcomersFromManyHostsShareOneAllowance() {
        var a = new OpenAllowances(0);
        int total = 0;
        for (int host = 0; host < 100; host++) total += admitted(a, "10.0.0." + host, 0, 80);
        assertEquals(OpenAllowances.NEWCOMERS_BURST, total, "100 hosts at once get one burst between them");
        String refusal = a.refusal("10.0.1.1", 0);
        assertNotNull(refusal);
        assertTrue(refusal.contains("no session stepped here lately"), refusal);
        int later = 0;
        for (int host = 0; host < 100; host++) later += admitted(a, "10.0.2." + host, SECOND, 80);
        assertEquals((int) OpenAllowances.NEWCOMERS_PER_SECOND, later, "then the newcomers' rate, a second later");
    }

    @Test
    void aClientThatSteppedKeepsItsOwnAllowanceWhileNewcomersHaveSpentTheirs() {
        var a = new OpenAllowances(0);
        a.take("10.9.9.9", 0);
        a.stepped("10.9.9.9", 0);
        for (int host = 0; host < 100; host++) admitted(a, "10.0.0." + host, 0, 80);
        assertNotNull(a.refusal("10.0.1.1", 0), "the newcomers' allowance is spent");
        assertEquals(OpenAllowances.BURST - 1, admitted(a, "10.9.9.9", 0, 1000), "the known client's own burst, less its first open");
        assertTrue(a.refusal("10.9.9.9", 0).contains("opened more than"), "and then its own rate applies");
    }

    @Test
    void aClientIsANewcomerAgainOnceItHasNotSteppedForAWhile() {
        var a = new OpenAllowances(0);
        a.stepped("10.9.9.9", 0);
        long later = OpenAllowances.KNOWN_FOR.toNanos() + SECOND;
        for (int host = 0; host < 100; host++) admitted(a, "10.0.0." + host, later, 80);
        assertNotNull(a.refusal("10.9.9.9", later), "no step for longer than KNOWN_FOR: a newcomer again");
        a.stepped("10.9.9.9", later);
        assertNull(a.refusal("10.9.9.9", later), "known again once it steps");
    }
}
