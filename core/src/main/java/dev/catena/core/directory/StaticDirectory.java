package dev.catena.core.directory;

import java.util.List;

/** A fixed list of servers (e.g. from the command line); announcements are refused. */
public final class StaticDirectory implements Directory {
    private final List<ServerRecord> records;

    public StaticDirectory(List<ServerRecord> records) {
        this.records = List.copyOf(records);
    }

    @Override
    public void announce(ServerRecord record) {
        throw new UnsupportedOperationException("a static directory is fixed at start");
    }

    @Override
    public void withdraw(String address) {
        throw new UnsupportedOperationException("a static directory is fixed at start");
    }

    @Override
    public List<ServerRecord> servers(String modelId) {
        return records.stream().filter(r -> r.modelId().equals(modelId) && r.state() == ServerRecord.State.ONLINE).toList();
    }
}
