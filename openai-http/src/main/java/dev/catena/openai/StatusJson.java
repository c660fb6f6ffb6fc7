package dev.catena.openai;

import dev.catena.api.BlockRange;
import dev.catena.core.SwarmStatus;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The JSON of {@code GET /v1/catena/status} (what the live page draws) and {@code GET /health}, from a
 * {@link SwarmStatus}. Keys are snake_case; block ranges are {@code {"start": a, "end": b}}, end exclusive.
 */
final class StatusJson {
    private static final JsonMapper SNAKE = JsonMapper.builder().propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();

    private StatusJson() {
    }

    /**
     * The whole status: the record's fields, plus {@code name} (the model as the API names it), {@code covered},
     * {@code servers_reachable} and {@code uncovered} (the gaps as text).
     */
    static ObjectNode status(String name, SwarmStatus s) {
        ObjectNode n = SNAKE.valueToTree(s);
        n.put("name", name);
        n.put("covered", s.covered());
        n.put("servers_reachable", s.reachableServers());
        n.put("uncovered", describe(s.gaps()));
        return n;
    }

    /** {@code GET /health}: the model, its coverage and the servers reachable; {@code status} is ok or degraded. */
    static ObjectNode health(String name, SwarmStatus s) {
        ObjectNode n = SNAKE.createObjectNode();
        n.put("status", s.covered() ? "ok" : "degraded");
        n.put("model", name);
        n.put("model_id", s.model());
        n.put("blocks", s.blocks());
        n.put("covered", s.covered());
        ArrayNode gaps = n.putArray("uncovered_blocks");
        for (BlockRange g : s.gaps()) gaps.addArray().add(g.start()).add(g.end());
        if (!s.covered()) {
            n.put("message", "no reachable server covers blocks " + describe(s.gaps()));
        }
        n.put("servers_known", s.servers().size());
        n.put("servers_reachable", s.reachableServers());
        ArrayNode servers = n.putArray("servers");
        for (SwarmStatus.Server server : s.servers()) {
            ObjectNode o = servers.addObject();
            o.put("address", server.address());
            o.putArray("span").add(server.span().start()).add(server.span().end());
            o.put("state", server.state().name().toLowerCase(java.util.Locale.ROOT));
            o.put("reachable", server.reachable());
        }
        return n;
    }

    /** {@code [a, b), [c, d)}, or empty. */
    static String describe(List<BlockRange> gaps) {
        return gaps.stream().map(g -> "[" + g.start() + ", " + g.end() + ")").collect(Collectors.joining(", "));
    }
}
