package dev.catena.openai;

import dev.catena.core.Generation;
import dev.catena.core.Generator;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI's {@code logprobs} objects, computed from a generation's kept logits over the whole vocabulary: chat's
 * {@code content} list with bytes, or the completions' parallel arrays with text offsets.
 */
final class Logprobs {
    private final Generator generator;

    Logprobs(Generator generator) {
        this.generator = generator;
    }

    /** OpenAI's logprobs object for a generation kept with logits: each token's log-probability and its {@code top} best. */
    ObjectNode of(Generation g, boolean chat, int top) {
        ObjectNode lp = OpenAiServer.JSON.createObjectNode();
        ArrayNode content = chat ? lp.putArray("content") : null;
        ArrayNode tokens = chat ? null : lp.putArray("tokens");
        ArrayNode tokenLogprobs = chat ? null : lp.putArray("token_logprobs");
        ArrayNode topLogprobs = chat ? null : lp.putArray("top_logprobs");
        ArrayNode offsets = chat ? null : lp.putArray("text_offset");
        int offset = 0;
        for (int i = 0; i < g.tokens().size() && i < g.logits().size(); i++) {
            float[] row = g.logits().get(i);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) max = Math.max(max, v);
            double sum = 0;
            for (float v : row) sum += Math.exp(v - max);
            double logZ = max + Math.log(sum);
            int id = g.tokens().get(i);
            int previous = i > 0 ? g.tokens().get(i - 1) : g.promptTokens().getLast();
            String piece = piece(previous, id);
            double logprob = row[id] - logZ;
            int[] best = topIds(row, top);
            if (chat) {
                ObjectNode t = content.addObject();
                t.put("token", piece);
                t.put("logprob", logprob);
                bytes(t, piece);
                ArrayNode alts = t.putArray("top_logprobs");
                for (int b : best) {
                    ObjectNode a = alts.addObject();
                    String alt = piece(previous, b);
                    a.put("token", alt);
                    a.put("logprob", row[b] - logZ);
                    bytes(a, alt);
                }
            } else {
                tokens.add(piece);
                tokenLogprobs.add(logprob);
                ObjectNode alts = topLogprobs.addObject();
                for (int b : best) alts.put(piece(previous, b), row[b] - logZ);
                offsets.add(offset);
                offset += piece.length();
            }
        }
        return lp;
    }

    /** The text {@code id} adds after {@code previous} (detokenized alone, a token may lose its leading space). */
    private String piece(int previous, int id) {
        String before = generator.detokenize(List.of(previous));
        String both = generator.detokenize(List.of(previous, id));
        return both.startsWith(before) ? both.substring(before.length()) : generator.detokenize(List.of(id));
    }

    private static void bytes(ObjectNode node, String text) {
        ArrayNode a = node.putArray("bytes");
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) a.add(b & 0xff);
    }

    /** The ids of the {@code k} largest values, largest first (ties to the lowest id). */
    static int[] topIds(float[] row, int k) {
        int[] best = new int[Math.min(k, row.length)];
        int n = 0;
        for (int id = 0; id < row.length; id++) {
            int at = n;
            while (at > 0 && row[best[at - 1]] < row[id]) at--;
            if (at >= best.length) continue;
            int end = Math.min(n, best.length - 1);
            System.arraycopy(best, at, best, at + 1, end - at);
            best[at] = id;
            if (n < best.length) n++;
        }
        return best;
    }
}
