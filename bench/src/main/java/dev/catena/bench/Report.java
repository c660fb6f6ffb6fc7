package dev.catena.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The harnesses' JSON, and the swarm benchmark's results as a Markdown table, JSON, and a PNG chart of p50 per mode against the limit. */
final class Report {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    private Report() {
    }

    static String header() {
        return "| model | scenario | servers | client one-way ms | peer one-way ms | mode | p50 ms | p90 ms | compute ms | formula ms "
                + "| p50 / formula | ms per hop over formula | server turnaround p50/p90 ms | client turnaround p50/p90 ms |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
    }

    static String markdownRow(SwarmLatencyBench.Row r) {
        return String.format(Locale.ROOT, "| %s | %s | %d | %d | %d | %s | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f / %.3f | %s |",
                r.model(), r.scenario(), r.servers(), r.clientMs(), r.peerMs(), r.mode(), r.p50(), r.p90(), r.computeMs(), r.formulaMs(),
                r.ratio(), r.overheadPerHop(), r.hopTurnP50(), r.hopTurnP90(),
                r.mode().equals("ring") ? "(off the path)" : String.format(Locale.ROOT, "%.3f / %.3f", r.clientTurnP50(), r.clientTurnP90()));
    }

    /** One line of JSON, snake_case keys: the one JSON writer of the harnesses. */
    static String json(Object value) {
        return MAPPER.writeValueAsString(value);
    }

    /** {@code swarm.json}: an array, one run a line. */
    static String swarmJson(List<SwarmLatencyBench.Row> rows) {
        return "[\n  " + String.join(",\n  ", rows.stream().map(r -> json(SwarmRun.of(r))).toList()) + "\n]\n";
    }

    /** A run as {@code swarm.json} holds it; {@code push_target_met} only for push runs. */
    record SwarmRun(String model, String scenario, int servers, long clientMs, long peerMs, String mode, int nEmbd, int steps,
                    double p50Ms, double p90Ms, double computeMs, double formulaMs, double ratio, double overheadPerHopMs,
                    double serverTurnaroundP50Ms, double serverTurnaroundP90Ms, double clientTurnaroundP50Ms, double clientTurnaroundP90Ms,
                    @JsonInclude(JsonInclude.Include.NON_NULL) Boolean pushTargetMet) {
        static SwarmRun of(SwarmLatencyBench.Row r) {
            return new SwarmRun(r.model(), r.scenario(), r.servers(), r.clientMs(), r.peerMs(), r.mode(), r.nEmbd(), r.steps(),
                    r.p50(), r.p90(), r.computeMs(), r.formulaMs(), r.ratio(), r.overheadPerHop(),
                    r.hopTurnP50(), r.hopTurnP90(), r.clientTurnP50(), r.clientTurnP90(),
                    r.mode().equals("push") ? r.pushTargetMet() : null);
        }
    }

    /** Grouped bars: per run (scenario, servers) the p50 of each mode, and the push formula (the limit) as a line. */
    static void chart(List<SwarmLatencyBench.Row> rows, Path png) throws IOException {
        Map<String, Map<String, SwarmLatencyBench.Row>> groups = new LinkedHashMap<>();
        for (var r : rows) {
            groups.computeIfAbsent(r.model() + " " + r.scenario() + " K=" + r.servers(), g -> new LinkedHashMap<>()).put(r.mode(), r);
        }
        int groupWidth = 170;
        int width = 90 + groups.size() * groupWidth + 40;
        int height = 420;
        int top = 50;
        int bottom = height - 90;
        double max = rows.stream().mapToDouble(r -> Math.max(r.p50(), r.formulaMs())).max().orElse(1) * 1.1;
        var image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.drawString("Per-token decode latency p50 (ms) by mode; red line: the physical limit (push formula)", 20, 25);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.drawString("scenario K=servers (client/peer one-way delay)", 20, 42);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.drawLine(70, top, 70, bottom);
            g.drawLine(70, bottom, width - 20, bottom);
            for (int t = 0; t <= 5; t++) {
                double v = max * t / 5;
                int y = bottom - (int) ((bottom - top) * t / 5.0);
                g.drawString(String.format(Locale.ROOT, "%.1f", v), 20, y + 4);
                g.setColor(new Color(230, 230, 230));
                g.drawLine(71, y, width - 20, y);
                g.setColor(Color.BLACK);
            }
            Color[] colors = {new Color(90, 120, 200), new Color(60, 170, 90), new Color(200, 150, 40)};
            int x = 90;
            for (var e : groups.entrySet()) {
                int i = 0;
                for (var r : e.getValue().values()) {
                    int h = (int) ((bottom - top) * r.p50() / max);
                    g.setColor(colors[i % colors.length]);
                    g.fillRect(x + i * 45, bottom - h, 40, h);
                    g.setColor(Color.BLACK);
                    g.drawString(r.mode(), x + i * 45 + 4, bottom + 14);
                    g.drawString(String.format(Locale.ROOT, "%.1f", r.p50()), x + i * 45 + 2, bottom - h - 4);
                    i++;
                }
                var push = e.getValue().get("push");
                if (push != null) {
                    int y = bottom - (int) ((bottom - top) * push.formulaMs() / max);
                    g.setColor(Color.RED);
                    g.setStroke(new BasicStroke(2));
                    g.drawLine(x - 5, y, x + i * 45, y);
                    g.setStroke(new BasicStroke(1));
                }
                g.setColor(Color.BLACK);
                var first = e.getValue().values().iterator().next();
                g.drawString(first.scenario() + " K=" + first.servers() + " (" + first.clientMs() + "/" + first.peerMs() + " ms)", x - 5, bottom + 32);
                String model = first.model().length() > 24 ? first.model().substring(0, 24) + "…" : first.model();
                g.drawString(model, x - 5, bottom + 48);
                x += groupWidth;
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(image, "png", png.toFile());
    }
}
