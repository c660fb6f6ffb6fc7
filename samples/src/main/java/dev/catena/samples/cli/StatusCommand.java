package dev.catena.samples.cli;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.Catena;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code catena status}: the swarm a directory lists: servers, coverage per block, throughput, free KV. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Prints the swarm a directory lists: per model its servers and the coverage of every block.")
final class StatusCommand implements Callable<Integer> {
    @Option(names = "--directory", required = true, paramLabel = "URI",
            description = "etcd://HOST:PORT[,HOST:PORT...], a file path or file: URI.") String directory;
    @Option(names = "--model", paramLabel = "GGUF", description = "Only this model's servers, with the coverage of all its blocks.") Path model;
    @Option(names = "--json", description = "One JSON object: {models: [{model_id, model_name, servers: [...], blocks: [...]}]}.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        Map<String, List<ServerRecord>> byModel;
        java.net.URI uri;
        try {
            uri = GeneratorOptions.directoryUri(directory);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--directory: " + e.getMessage());
        }
        try (Directory d = openChecked(uri)) {
            if (model != null) {
                String id = Catena.modelId(model);
                byModel = Map.of(id, d.servers(id));
            } else {
                byModel = d.allServers();
            }
        }
        int nLayer = model == null ? 0 : Catena.spanBackend(null).inspect(model).nLayer(); // every block, the last ones too
        List<Map<String, Object>> models = new ArrayList<>();
        byModel.forEach((id, servers) -> {
            var m = describe(id, servers, nLayer);
            if (model != null && ((String) m.get("model_name")).isEmpty()) m.put("model_name", model.getFileName().toString());
            models.add(m);
        });
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(Map.of("models", models)));
        } else if (models.isEmpty() || models.stream().allMatch(m -> ((List<?>) m.get("servers")).isEmpty()) && model == null) {
            out.println("no servers in " + uri);
        } else {
            models.forEach(m -> print(out, m));
        }
        out.flush();
        return 0;
    }

    private Directory openChecked(java.net.URI uri) {
        try {
            return Catena.directory(uri);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--directory: " + e.getMessage());
        }
    }

    /**
     * One model: its servers, and per block how many servers cover it with their summed throughput;
     * over {@code nLayer} blocks when known, else up to the last block a server hosts.
     */
    static Map<String, Object> describe(String id, List<ServerRecord> servers, int nLayer) {
        int blocks = Math.max(nLayer, servers.stream().mapToInt(r -> r.span().end()).max().orElse(0));
        List<Map<String, Object>> list = new ArrayList<>();
        for (ServerRecord r : servers) {
            var m = new LinkedHashMap<String, Object>();
            m.put("address", r.address());
            m.put("blocks", r.span().toString());
            m.put("steps_per_s", Math.round(r.throughput() * 10) / 10.0);
            m.put("free_kv_tokens", r.freeKvTokens());
            m.put("state", r.state().name().toLowerCase(Locale.ROOT));
            m.put("weights_digest", r.weightsDigest());
            list.add(m);
        }
        List<Map<String, Object>> coverage = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            int block = b;
            var covering = servers.stream().filter(r -> r.span().start() <= block && block < r.span().end()).toList();
            var m = new LinkedHashMap<String, Object>();
            m.put("block", block);
            m.put("servers", covering.size());
            m.put("steps_per_s", Math.round(covering.stream().mapToDouble(ServerRecord::throughput).sum() * 10) / 10.0);
            coverage.add(m);
        }
        var m = new LinkedHashMap<String, Object>();
        m.put("model_id", id);
        m.put("model_name", servers.stream().map(ServerRecord::modelName).filter(n -> !n.isEmpty()).findFirst().orElse(""));
        m.put("servers", list);
        m.put("blocks", coverage);
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void print(PrintWriter out, Map<String, Object> m) {
        var servers = (List<Map<String, Object>>) m.get("servers");
        var blocks = (List<Map<String, Object>>) m.get("blocks");
        String name = (String) m.get("model_name");
        out.printf("model %s (id %s): %d server%s%n", name.isEmpty() ? "?" : name, m.get("model_id"), servers.size(),
                servers.size() == 1 ? "" : "s");
        out.printf("  %-24s %-8s %10s %14s  %-8s %s%n", "SERVER", "BLOCKS", "STEPS/S", "FREE KV TOKENS", "STATE", "WEIGHTS");
        for (var s : servers) {
            String digest = (String) s.get("weights_digest");
            out.printf(Locale.ROOT, "  %-24s %-8s %10.1f %14d  %-8s %s%n", s.get("address"), s.get("blocks"), s.get("steps_per_s"),
                    s.get("free_kv_tokens"), s.get("state"), digest.isEmpty() ? "-" : digest.substring(0, Math.min(12, digest.length())));
        }
        out.println("  coverage:");
        List<String> uncovered = new ArrayList<>();
        for (var b : blocks) {
            int n = (Integer) b.get("servers");
            out.printf(Locale.ROOT, "    block %3d: %d server%s, %.1f steps/s%n", b.get("block"), n, n == 1 ? "" : "s", b.get("steps_per_s"));
            if (n == 0) uncovered.add(String.valueOf(b.get("block")));
        }
        out.println(uncovered.isEmpty() ? "  every block is covered" : "  uncovered blocks: " + String.join(", ", uncovered));
    }
}
