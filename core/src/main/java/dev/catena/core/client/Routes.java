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
    public static List<ServerRecord> describe(SwarmClient client, List<String> addresses, String modelId) {
        List<ServerRecord> records = new ArrayList<>();
        for (String address : addresses) {
            ServerInfo info = client.info(address, client.requestTimeout()); // its round trip is kept for routing
            if (!info.getModelId().equals(modelId)) {
                throw new SwarmException.Refused(address + " serves model '" + info.getModelId() + "', not '" + modelId + "'", address, null);
            }
            records.add(ServerRecord.online(address, modelId, new BlockRange(info.getStart(), info.getEnd())));
        }
        return List.copyOf(records);
    }
}
