package dev.catena.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** etcd's Prometheus counters ({@code /metrics}), summed over their labels, by name. */
final class EtcdMetrics {
    private final URI uri;

    EtcdMetrics(URI uri) {
        this.uri = uri;
    }

    Map<String, Double> read() throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            String body = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
            Map<String, Double> out = new HashMap<>();
            for (String line : body.split("\n")) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int space = line.lastIndexOf(' ');
                int brace = line.indexOf('{');
                String name = line.substring(0, brace > 0 && brace < space ? brace : space);
                try {
                    out.merge(name, Double.parseDouble(line.substring(space + 1)), Double::sum);
                } catch (NumberFormatException e) {
                    // not a sample line
                }
            }
            return out;
        }
    }
}
