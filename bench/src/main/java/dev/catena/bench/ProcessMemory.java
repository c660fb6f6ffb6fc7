package dev.catena.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The benchmark process's memory as the kernel counts it. */
final class ProcessMemory {
    private ProcessMemory() {
    }

    /** Resident set size ({@code VmRSS} in /proc/self/status), in bytes; 0 where there is no /proc. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException ignored) {
            // not Linux: report 0
        }
        return 0;
    }
}
