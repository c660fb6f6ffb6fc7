package dev.catena.samples.cli;

import java.util.List;
import java.util.Map;

/** Just enough JSON (and a text rendering of the same data) for the CLI's output: maps, lists, strings, numbers, booleans. */
final class Json {
    private Json() {
    }

    static String write(Object value) {
        var sb = new StringBuilder();
        write(value, sb);
        return sb.toString();
    }

    private static void write(Object value, StringBuilder sb) {
        switch (value) {
            case null -> sb.append("null");
            case String s -> quote(s, sb);
            case Boolean b -> sb.append(b);
            case Double d when !Double.isFinite(d) -> sb.append("null");
            case Float f when !Float.isFinite(f) -> sb.append("null");
            case Number n -> sb.append(n);
            case Map<?, ?> map -> {
                sb.append('{');
                boolean first = true;
                for (var e : map.entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    quote(String.valueOf(e.getKey()), sb);
                    sb.append(':');
                    write(e.getValue(), sb);
                }
                sb.append('}');
            }
            case List<?> list -> {
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) sb.append(',');
                    write(list.get(i), sb);
                }
                sb.append(']');
            }
            default -> quote(value.toString(), sb);
        }
    }

    private static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
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
