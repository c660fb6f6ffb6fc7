package dev.catena.samples.cli;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;

/** The command line's JSON (Jackson, snake_case keys for records), and a text rendering of the same data. */
final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    private Json() {
    }

    /** One line of JSON: maps keep their order, records their component order. */
    static String write(Object value) {
        return MAPPER.writeValueAsString(value);
    }

    /** "key: value" lines; nested maps and lists indented. */
    static String asText(Map<String, Object> map) {
        var sb = new StringBuilder();
        text(map, "", sb);
        return sb.toString().stripTrailing();
    }

    private static void text(Map<?, ?> map, String indent, StringBuilder sb) {
        for (var e : map.entrySet()) {
            sb.append(indent).append(e.getKey()).append(':');
            if (e.getValue() instanceof List<?> list) {
                sb.append('\n');
                for (Object item : list) {
                    if (item instanceof Map<?, ?> m) {
                        sb.append(indent).append("  -\n");
                        text(m, indent + "    ", sb);
                    } else {
                        sb.append(indent).append("  - ").append(item).append('\n');
                    }
                }
            } else {
                sb.append(' ').append(e.getValue()).append('\n');
            }
        }
    }
}
