package dev.catena.core.client;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.model.ModelIdentity;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A client's view of a directory with only the servers whose weights are this client's: a server
 * that announces a weights digest different from the client's own model file's digest for the
 * same blocks (another copy under the same metadata, e.g. fine-tuned weights) is left out, so
 * servers with different weights are never mixed in one route. Servers that announce no digest
 * (static lists, older servers) are kept. Each refusal is logged once and kept for error messages.
 */
final class SameWeightsDirectory implements Directory {
    private static final System.Logger LOG = System.getLogger(SameWeightsDirectory.class.getName());
    private final Directory inner;
    private final ModelIdentity identity;
    /** Refused servers, by address: why. */
    private final Map<String, String> refused = new ConcurrentHashMap<>();

    SameWeightsDirectory(Directory inner, ModelIdentity identity) {
        this.inner = inner;
        this.identity = identity;
    }

    private boolean same(ServerRecord r) {
        if (r.weightsDigest().isEmpty()) return true;
        String mine = identity.weightsDigest(r.span());
        if (mine.equals(r.weightsDigest())) {
            refused.remove(r.address());
            return true;
        }
        String why = r.address() + " (blocks " + r.span() + " of " + (r.modelName().isEmpty() ? "?" : r.modelName()) + ", weights "
                + r.weightsDigest().substring(0, Math.min(12, r.weightsDigest().length())) + "..., this client's "
                + identity.name() + " has " + mine.substring(0, 12) + "...)";
        if (refused.put(r.address(), why) == null) {
            LOG.log(System.Logger.Level.WARNING, "not using " + why + ": other weights under the same model id");
        }
        return false;
    }

    /** Why servers were left out, for a no-route error; empty when none was. */
    String refusals() {
        return refused.isEmpty() ? "" : "; left out for other weights: " + String.join(", ", refused.values());
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
        return inner.servers(modelId).stream().filter(this::same).toList();
    }

    @Override
    public List<ServerRecord> reread(String modelId) {
        return inner.reread(modelId).stream().filter(this::same).toList();
    }

    @Override
    public Watch watch(String modelId, Consumer<List<ServerRecord>> onChange) {
        return inner.watch(modelId, all -> onChange.accept(all.stream().filter(this::same).toList()));
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
