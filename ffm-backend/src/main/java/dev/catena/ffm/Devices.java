package dev.catena.ffm;

import dev.catena.api.DeviceInfo;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/** The devices of every ggml backend that loaded (CPU always; CUDA when its module is present). */
final class Devices {
    private Devices() {
    }

    static List<DeviceInfo> list() {
        List<DeviceInfo> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            long n = ggml_backend_dev_count();
            for (long i = 0; i < n; i++) {
                MemorySegment dev = ggml_backend_dev_get(i);
                ggml_backend_dev_memory(dev, free, total);
                out.add(new DeviceInfo(string(ggml_backend_dev_name(dev)), string(ggml_backend_dev_description(dev)),
                        typeName(ggml_backend_dev_type(dev)), free.get(ValueLayout.JAVA_LONG, 0),
                        total.get(ValueLayout.JAVA_LONG, 0)));
            }
        }
        return List.copyOf(out);
    }

    static String typeName(int type) {
        if (type == GGML_BACKEND_DEVICE_TYPE_CPU()) return "cpu";
        if (type == GGML_BACKEND_DEVICE_TYPE_GPU()) return "gpu";
        if (type == GGML_BACKEND_DEVICE_TYPE_IGPU()) return "igpu";
        if (type == GGML_BACKEND_DEVICE_TYPE_ACCEL()) return "accel";
        return "other(" + type + ")";
    }

    private static String string(MemorySegment s) {
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
