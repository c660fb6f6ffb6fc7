package dev.catena.core.client;

import dev.catena.core.SwarmException;
import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;
import dev.catena.transport.proto.ServerInfo;

import java.util.ArrayList;
import java.util.List;

/** Asks servers which blocks of which model they serve. */
public final class Routes {
    private Routes() {
    }

    /**
     * The records of the servers at {@code addresses}, from their own ServerInfo.
     *
     * @throws SwarmException when a server is unreachable or serves another model
     */
    public static List<ServerRecord> describe(SwarmClient client, List<String> addresses, String modelId, String modelName) {
        List<ServerRecord> records = new ArrayList<>();
        for (String address : addresses) {
            ServerInfo info = client.info(address, client.requestTimeout()); // its round trip is kept for routing
            if (!info.getModelId().equals(modelId)) {
                String theirs = info.getModelName().isEmpty() ? "another model" : info.getModelName();
                throw new SwarmException.Refused(address + " serves " + theirs + " (model id " + shortId(info.getModelId())
                        + "), not this client's " + modelName + " (model id " + shortId(modelId) + "): another model, or another copy "
                        + "of it (other tensor types or metadata)", address, null);
            }
            records.add(new ServerRecord(address, modelId, info.getModelName(), new BlockRange(info.getStart(), info.getEnd()), 0,
                    Long.MAX_VALUE, ServerRecord.State.ONLINE, info.getWeightsDigest(), "", ""));
        }
        return List.copyOf(records);
    }

    private static String shortId(String id) {
        return id.length() > 16 ? id.substring(0, 16) + "..." : id;
    }
}
