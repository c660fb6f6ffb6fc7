package dev.catena.core.directory;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;

import java.util.ArrayList;
import java.util.List;

/**
 * A fixed list of servers (e.g. from the command line); announcements are refused. A record with
 * an empty model id serves any model (as a {@code static:} URI lists them).
 */
public final class StaticDirectory implements Directory {
    private final List<ServerRecord> records;

    public StaticDirectory(List<ServerRecord> records) {
        this.records = List.copyOf(records);
    }

    /**
     * The servers of a {@code static:} URI's scheme-specific part: {@code HOST:PORT@A:B,...}, each
     * server with the blocks {@code [A, B)} it hosts.
     *
     * @throws IllegalArgumentException naming the entry that is malformed
     */
    public static StaticDirectory parse(String list) {
        List<ServerRecord> out = new ArrayList<>();
        for (String entry : list.split(",")) {
            int at = entry.lastIndexOf('@');
            if (at <= 0 || entry.lastIndexOf(':', at) <= 0) {
                throw new IllegalArgumentException("static directory entry '" + entry + "' is not HOST:PORT@A:B");
            }
            BlockRange span = BlockRange.parseList(entry.substring(at + 1)).getFirst();
            out.add(ServerRecord.online(entry.substring(0, at), "", span));
        }
        return new StaticDirectory(out);
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
        return records.stream()
                .filter(r -> (r.modelId().equals(modelId) || r.modelId().isEmpty()) && r.state() == ServerRecord.State.ONLINE)
                .map(r -> r.modelId().isEmpty() ? new ServerRecord(r.address(), modelId, r.modelName(), r.span(), r.throughput(),
                        r.freeKvTokens(), r.state(), r.weightsDigest(), r.publicKey(), r.signature()) : r)
                .toList();
    }
}
