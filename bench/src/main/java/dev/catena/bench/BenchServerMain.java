package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanBackend;
import dev.catena.core.Catena;
import dev.catena.core.Identity;
import dev.catena.testing.PassThroughSpans;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.Collectors;

/**
 * A swarm benchmark's server in its own JVM ({@code bench swarm --processes}): one span on Netty, driven
 * line by line on stdin by the bench, which answers each command with one line on stdout:
 * <pre>
 * route NAME ADDRESS   pushes to NAME go to ADDRESS (a proxy)     -> ok
 * reset                zeroes the counters                        -> ok
 * counters             the counters, key=value,...                -> steps=...,compute_us=...
 * </pre>
 * It prints {@code ready ADDRESS} once listening, and exits when stdin ends: a bench that dies, however it
 * dies, leaves no server behind.
 * <p>
 * {@code BenchServerMain MODEL ID START END THREADS [PASS_THROUGH_LAYERS PASS_THROUGH_HIDDEN]}
 */
public final class BenchServerMain {
    private BenchServerMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5 && args.length != 7) {
            System.err.println("usage: BenchServerMain MODEL ID START END THREADS [PASS_THROUGH_LAYERS PASS_THROUGH_HIDDEN]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        SpanBackend backend = args.length == 7 ? new PassThroughSpans(Integer.parseInt(args[5]), Integer.parseInt(args[6]))
                : Catena.spanBackend("ffm");
        var blocks = new BlockRange(Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        try (Transport transport = Catena.transport("netty").create(TransportConfig.defaults());
             BenchServer server = BenchServer.inProcess(model, args[1], blocks, Integer.parseInt(args[4]), backend, transport,
                     Identity.generate())) {
            var out = System.out;
            out.println("ready " + server.address());
            out.flush();
            var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] words = line.trim().split("\\s+");
                switch (words[0]) {
                    case "route" -> {
                        server.route(words[1], words[2]);
                        out.println("ok");
                    }
                    case "reset" -> {
                        server.reset();
                        out.println("ok");
                    }
                    case "counters" -> out.println(server.counters().entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")));
                    default -> out.println("error unknown command " + words[0]);
                }
                out.flush();
            }
        }
        System.exit(0); // stdin ended: the bench is gone
    }
}
