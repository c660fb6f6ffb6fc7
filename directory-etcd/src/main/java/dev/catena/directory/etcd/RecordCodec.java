package dev.catena.directory.etcd;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A record as an etcd value: {@code key=value} lines (UTF-8), readable with {@code etcdctl get}.
 * Unknown keys are ignored, so later versions may add fields; values never hold a line break.
 */
final class RecordCodec {
    static final int VERSION = 1;

    private RecordCodec() {
    }

    static byte[] encode(ServerRecord r) {
        var b = new StringBuilder();
        line(b, "v", Integer.toString(VERSION));
        line(b, "address", r.address());
        line(b, "model_id", r.modelId());
        line(b, "model_name", r.modelName());
        line(b, "span", r.span().toString());
        line(b, "throughput", String.format(Locale.ROOT, "%.3f", r.throughput()));
        line(b, "free_kv_tokens", Long.toString(r.freeKvTokens()));
        line(b, "state", r.state().name());
        line(b, "weights_digest", r.weightsDigest());
        line(b, "public_key", r.publicKey());
        line(b, "signature", r.signature());
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(key).append('=').append(value.replace('\n', ' ').replace('\r', ' ')).append('\n');
    }

    /**
     * The record in {@code value}.
     *
     * @throws IllegalArgumentException when a required field is missing or malformed
     */
    static ServerRecord decode(byte[] value) {
        Map<String, String> f = new HashMap<>();
        for (String l : new String(value, StandardCharsets.UTF_8).split("\n")) {
            int eq = l.indexOf('=');
            if (eq > 0) f.put(l.substring(0, eq), l.substring(eq + 1));
        }
        return new ServerRecord(required(f, "address"), required(f, "model_id"), f.get("model_name"),
                BlockRange.parseList(required(f, "span")).getFirst(), Double.parseDouble(f.getOrDefault("throughput", "0")),
                Long.parseLong(f.getOrDefault("free_kv_tokens", "0")), ServerRecord.State.valueOf(f.getOrDefault("state", "ONLINE")),
                f.get("weights_digest"), f.get("public_key"), f.get("signature"));
    }

    private static String required(Map<String, String> f, String key) {
        String v = f.get(key);
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("record has no " + key);
        return v;
    }
}
