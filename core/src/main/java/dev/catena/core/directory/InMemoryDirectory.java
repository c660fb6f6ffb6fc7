package dev.catena.core.directory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A directory in this process: servers announce into it, clients read from it. */
public final class InMemoryDirectory implements Directory {
    private final Map<String, ServerRecord> records = new ConcurrentHashMap<>();

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
}
