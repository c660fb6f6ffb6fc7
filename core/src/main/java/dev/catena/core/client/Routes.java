package dev.catena.core.client;

import dev.catena.api.BlockRange;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.InfoRequest;
import dev.catena.transport.proto.ServerInfo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Builds a route from a list of server addresses by asking each which blocks of which model it serves. */
public final class Routes {
    private Routes() {
    }

    /**
     * @throws SwarmException when a server serves another model, or the spans do not chain to cover
     *         {@code [0, nLayer)} exactly (the message names the uncovered or overlapping blocks)
     */
    public static List<RemoteSession.Hop> fromPeers(SwarmClient client, List<String> addresses, String modelId, int nLayer) {
        List<RemoteSession.Hop> hops = new ArrayList<>();
        for (String address : addresses) {
            Envelope reply = client.link(address).request(Envelope.newBuilder().setInfo(InfoRequest.getDefaultInstance()), null,
                    client.requestTimeout());
            if (!reply.hasServerInfo()) {
                throw new SwarmException(address + " answered the info request with " + reply.getBodyCase());
            }
            ServerInfo info = reply.getServerInfo();
            if (!info.getModelId().equals(modelId)) {
                throw new SwarmException(address + " serves model '" + info.getModelId() + "', not '" + modelId + "'");
            }
            hops.add(new RemoteSession.Hop(address, new BlockRange(info.getStart(), info.getEnd())));
        }
        hops.sort(Comparator.comparingInt(h -> h.blocks().start()));
        try {
            BlockRange.requireChain(hops.stream().map(RemoteSession.Hop::blocks).toList(), nLayer);
        } catch (IllegalArgumentException e) {
            throw new SwarmException("the servers do not form a route: " + e.getMessage());
        }
        return List.copyOf(hops);
    }
}
