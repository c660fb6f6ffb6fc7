package dev.catena.core.client;

import dev.catena.api.BlockRange;
import dev.catena.core.directory.ServerRecord;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.InfoRequest;
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
            Envelope reply;
            try {
                reply = client.link(address).request(Envelope.newBuilder().setInfo(InfoRequest.getDefaultInstance()), null,
                        client.requestTimeout());
            } catch (dev.catena.transport.spi.TransportException e) {
                throw new SwarmException("cannot reach " + address + ": " + e.getMessage(), address, e);
            }
            if (!reply.hasServerInfo()) {
                throw new SwarmException(address + " answered the info request with " + reply.getBodyCase(), address, null);
            }
            ServerInfo info = reply.getServerInfo();
            if (!info.getModelId().equals(modelId)) {
                throw new SwarmException(address + " serves model '" + info.getModelId() + "', not '" + modelId + "'", address, null);
            }
            records.add(ServerRecord.online(address, modelId, new BlockRange(info.getStart(), info.getEnd())));
        }
        return List.copyOf(records);
    }
}
