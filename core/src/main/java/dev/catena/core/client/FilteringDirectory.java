package dev.catena.core.client;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A client's view of a directory that leaves out the records it must not use ({@link #keep}); each
 * refusal is logged once and kept, by address, for the no-route error that names it.
 */
abstract class FilteringDirectory implements Directory {
    private static final System.Logger LOG = System.getLogger(FilteringDirectory.class.getName());
    private final Directory inner;
    /** Refused servers, by address: why. */
    private final Map<String, String> refused = new ConcurrentHashMap<>();

    FilteringDirectory(Directory inner) {
        this.inner = inner;
    }

    /** Whether the client may use {@code r}; else {@link #refuse} says why. */
    abstract boolean keep(ServerRecord r);

    /** What a refusal is, for the no-route error: "left out for ...". */
    abstract String refusalKind();

    final void refuse(ServerRecord r, String why) {
        if (refused.put(r.address(), why) == null) LOG.log(System.Logger.Level.WARNING, "not using " + why);
    }

    final void accepted(ServerRecord r) {
        refused.remove(r.address());
    }

    /** Why servers were left out, for a no-route error (with the inner filters'); empty when none was. */
    String refusals() {
        String inside = inner instanceof FilteringDirectory f ? f.refusals() : "";
        return inside + (refused.isEmpty() ? "" : "; left out for " + refusalKind() + ": " + String.join(", ", refused.values()));
    }

    @Override
    public void announce(ServerRecord record) {
        inner.announce(record);
    }

    @Override
    public void withdraw(String address) {
        inner.withdraw(address);
    }

    @Override
    public List<ServerRecord> servers(String modelId) {
        return inner.servers(modelId).stream().filter(this::keep).toList();
    }

    @Override
    public List<ServerRecord> reread(String modelId) {
        return inner.reread(modelId).stream().filter(this::keep).toList();
    }

    @Override
    public Watch watch(String modelId, Consumer<List<ServerRecord>> onChange) {
        return inner.watch(modelId, all -> onChange.accept(all.stream().filter(this::keep).toList()));
    }

    @Override
    public Map<String, List<ServerRecord>> allServers() {
        return inner.allServers();
    }

    @Override
    public void close() {
        inner.close();
    }
}
