package dev.catena.ffm.llama;

import dev.catena.ffm.TestModels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code models/stories260K.expected.json}, read with a JSON reader just big enough for it. */
final class ExpectedOutputs {

    record Generation(String prompt, int[] promptIds, int nPredict, int[] generatedIds, String continuationText,
                      String fullText, int[] top5Ids, float[] top5Logits) {
    }

    record Tokenization(String text, int[] idsWithBos) {
    }

    private ExpectedOutputs() {
    }

    static Path file() {
        return TestModels.stories260K().resolveSibling("stories260K.expected.json");
    }

    @SuppressWarnings("unchecked")
    static List<Generation> generations() {
        List<Generation> out = new ArrayList<>();
        for (Object o : (List<Object>) root().get("generations")) {
            Map<String, Object> g = (Map<String, Object>) o;
            List<Object> top5 = (List<Object>) g.get("top5_logits_after_prompt");
            int[] ids = new int[top5.size()];
            float[] logits = new float[top5.size()];
            for (int i = 0; i < ids.length; i++) {
                Map<String, Object> e = (Map<String, Object>) top5.get(i);
                ids[i] = ((Number) e.get("id")).intValue();
                logits[i] = ((Number) e.get("logit")).floatValue();
            }
            out.add(new Generation((String) g.get("prompt"), ints(g.get("prompt_token_ids")),
                    ((Number) g.get("n_predict")).intValue(), ints(g.get("generated_token_ids")),
                    (String) g.get("continuation_text"), (String) g.get("full_text"), ids, logits));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<Tokenization> tokenizations() {
        List<Tokenization> out = new ArrayList<>();
        for (Object o : (List<Object>) root().get("tokenization")) {
            Map<String, Object> t = (Map<String, Object>) o;
            out.add(new Tokenization((String) t.get("text"), ints(t.get("ids_with_bos"))));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static int[] ints(Object list) {
        return ((List<Object>) list).stream().mapToInt(n -> ((Number) n).intValue()).toArray();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> root() {
        try {
            return (Map<String, Object>) new Reader(Files.readString(file())).value();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Objects, arrays, strings (with escapes), numbers, true/false/null. */
    static final class Reader {
        private final String s;
        private int i;

        Reader(String s) {
            this.s = s;
        }

        Object value() {
            skip();
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    i++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    skip();
                    if (s.charAt(i) == '}') {
                        i++;
                        return m;
                    }
                    do {
                        skip();
                        String key = string();
                        skip();
                        expect(':');
                        m.put(key, value());
                        skip();
                    } while (s.charAt(i++) == ',');
                    return m;
                }
                case '[' -> {
                    i++;
                    List<Object> l = new ArrayList<>();
                    skip();
                    if (s.charAt(i) == ']') {
                        i++;
                        return l;
                    }
                    do {
                        l.add(value());
                        skip();
                    } while (s.charAt(i++) == ',');
                    return l;
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    for (String word : List.of("true", "false", "null")) {
                        if (s.startsWith(word, i)) {
                            i += word.length();
                            return word.equals("null") ? null : Boolean.valueOf(word);
                        }
                    }
                    int start = i;
                    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                        i++;
                    }
                    String num = s.substring(start, i);
                    return num.matches("-?\\d+") ? (Object) Long.parseLong(num) : (Object) Double.parseDouble(num);
                }
            }
        }

        private String string() {
            expect('"');
            var sb = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return sb.toString();
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'u' -> {
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> sb.append(e); // \" \\ \/
                }
            }
        }

        private void expect(char c) {
            if (s.charAt(i) != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + i + ", found '" + s.charAt(i) + "'");
            }
            i++;
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
