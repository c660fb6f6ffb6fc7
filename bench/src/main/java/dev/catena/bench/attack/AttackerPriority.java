package dev.catena.bench.attack;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The attackers' scheduling priority. Attacker, honest client and servers share this machine's CPUs,
 * while a real attacker's CPU is its own: run at a low priority (a high nice value), an attacker still
 * gets every idle cycle, but its own CPU no longer delays the honest client and the servers, so the
 * suite's latency ratio shows what the servers' handling of the attack costs. On Linux a nice value
 * applies to one thread: {@code setpriority(PRIO_PROCESS, gettid(), nice)}.
 */
final class AttackerPriority {
    /** The nice value flood threads set for themselves; 0 runs them beside everything else. */
    static volatile int nice = 19;
    /** Whether a flood thread could not set {@link #nice} and ran at the default priority. */
    static volatile boolean failed;

    private AttackerPriority() {
    }

    /** Sets the calling thread's nice value to {@link #nice}; false where that is not possible (not Linux, no native access). */
    static boolean applyToCallingThread() {
        if (nice == 0) return true;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            MethodHandle gettid = linker.downcallHandle(libc.find("gettid").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
            MethodHandle setpriority = linker.downcallHandle(libc.find("setpriority").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            int tid = (int) gettid.invokeExact();
            return (int) setpriority.invokeExact(0 /* PRIO_PROCESS */, tid, nice) == 0;
        } catch (Throwable e) {
            return false;
        }
    }
}
