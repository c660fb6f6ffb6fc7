package dev.catena.core.client;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.model.ModelIdentity;

/**
 * A client's view of a directory with only the servers whose weights are this client's: a server
 * that announces a weights digest different from the client's own model file's digest for the
 * same blocks (another copy under the same metadata, e.g. fine-tuned weights) is left out, so
 * servers with different weights are never mixed in one route. Servers that announce no digest
 * (static lists, older servers) are kept.
 */
final class SameWeightsDirectory extends FilteringDirectory {
    private final ModelIdentity identity;

    SameWeightsDirectory(Directory inner, ModelIdentity identity) {
        super(inner);
        this.identity = identity;
    }

    @Override
    boolean keep(ServerRecord r) {
        if (r.weightsDigest().isEmpty()) return true;
        String mine = identity.weightsDigest(r.span());
        if (mine.equals(r.weightsDigest())) {
            accepted(r);
            return true;
        }
        refuse(r, r.address() + " (blocks " + r.span() + " of " + (r.modelName().isEmpty() ? "?" : r.modelName()) + ", weights "
                + r.weightsDigest().substring(0, Math.min(12, r.weightsDigest().length())) + "..., this client's "
                + identity.name() + " has " + mine.substring(0, 12) + "...)");
        return false;
    }

    @Override
    String refusalKind() {
        return "other weights";
    }
}
