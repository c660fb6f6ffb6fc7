package dev.catena.core.directory;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * A directory in this process: servers announce into it, clients read from it. {@code mem:NAME}
 * names one shared by everything in the JVM that opens the same name.
 */
public final class InMemoryDirectory implements Directory {
    private static final Map<String, InMemoryDirectory> NAMED = new ConcurrentHashMap<>();
    private final Map<String, ServerRecord> records = new ConcurrentHashMap<>();

    /** The directory named {@code name} in this JVM, created on first use. */
    public static InMemoryDirectory named(String name) {
        return NAMED.computeIfAbsent(name, k -> new InMemoryDirectory());
    }

    @Override
    public void announce(ServerRecord record) {
        records.put(record.address(), record);
    }

    @Override
    public void withdraw(String address) {
        records.remove(address);
    }

    @Override
    public List<ServerRecord> servers(String modelId) {
        return records.values().stream()
                .filter(r -> r.modelId().equals(modelId) && r.state() == ServerRecord.State.ONLINE)
                .sorted(java.util.Comparator.comparing(ServerRecord::address))
                .toList();
    }

    @Override
    public Map<String, List<ServerRecord>> allServers() {
        return records.values().stream().filter(r -> r.state() == ServerRecord.State.ONLINE)
                .sorted(java.util.Comparator.comparing(ServerRecord::address))
                .collect(Collectors.groupingBy(ServerRecord::modelId, java.util.TreeMap::new, Collectors.toList()));
    }
}
