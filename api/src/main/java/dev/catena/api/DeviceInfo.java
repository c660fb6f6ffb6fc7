package dev.catena.api;

/**
 * A compute device a span backend can run on.
 *
 * @param type         {@code cpu}, {@code gpu}, {@code igpu} or {@code accel}
 * @param memoryFree   bytes free, as the device reports it
 * @param memoryTotal  bytes in all
 */
public record DeviceInfo(String name, String description, String type, long memoryFree, long memoryTotal) {
}
