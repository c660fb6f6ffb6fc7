package dev.catena.samples.cli;

import dev.catena.api.DeviceInfo;
import dev.catena.api.ModelInfo;
import dev.catena.api.spi.SpanBackend;
import dev.catena.core.Catena;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code catena info}: a model's shape, or (without --model) the backends, devices and transports found. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Describes a GGUF model (--model), or else the span backends, devices, transports and directories found."})
final class InfoCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "GGUF", description = "Model file to describe.")
    Path model;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--backend", paramLabel = "NAME", description = "Span backend to use (default: the preferred available one).")
    String backendName;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        SpanBackend backend = Catena.spanBackend(backendName);
        Map<String, Object> result = model != null ? describe(backend.inspect(model)) : environment(backend);
        out.println(json ? Json.write(result) : Json.asText(result));
        out.flush();
        return 0;
    }

    static Map<String, Object> describe(ModelInfo m) {
        var o = new LinkedHashMap<String, Object>();
        o.put("path", m.path().toString());
        o.put("architecture", m.architecture());
        o.put("name", m.name());
        o.put("gguf_version", m.ggufVersion());
        o.put("n_layer", m.nLayer());
        o.put("n_embd", m.nEmbd());
        o.put("n_head", m.nHead());
        o.put("n_head_kv", m.nHeadKv());
        o.put("n_ff", m.nFf());
        o.put("n_vocab", m.nVocab());
        o.put("n_ctx_train", m.nCtxTrain());
        o.put("file_type", m.fileType());
        o.put("tensors", m.tensors());
        o.put("file_size", m.fileSize());
        return o;
    }

    private static Map<String, Object> environment(SpanBackend backend) {
        var o = new LinkedHashMap<String, Object>();
        o.put("backend", backend.name());
        o.put("engine", backend.engineVersion());
        List<Map<String, Object>> devices = backend.devices().stream().map(InfoCommand::device).toList();
        o.put("devices", devices);
        o.put("backends", Catena.spanBackendProviders().stream().map(p -> p.name() + (p.isAvailable() ? "" : " (unavailable)")).toList());
        o.put("transports", Catena.transportProviders().stream()
                .map(p -> p.name() + (p.isAvailable() ? " (" + p.implementation() + ")" : " (unavailable)")).toList());
        o.put("signatures", "Ed25519 by " + dev.catena.core.Identity.signingEngine());
        o.put("directories", Catena.directoryProviders().stream()
                .map(p -> String.join(", ", p.schemes().stream().map(x -> x + ":").toList()) + (p.isAvailable() ? "" : " (unavailable)")).toList());
        return o;
    }

    private static Map<String, Object> device(DeviceInfo d) {
        var o = new LinkedHashMap<String, Object>();
        o.put("name", d.name());
        o.put("description", d.description());
        o.put("type", d.type());
        o.put("memory_free", d.memoryFree());
        o.put("memory_total", d.memoryTotal());
        return o;
    }
}
