package dev.catena.core;

import dev.catena.api.DeviceInfo;
import dev.catena.api.ModelInfo;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.ReferenceDecoder;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.TemplateMessage;
import dev.catena.testing.CountingBackend;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Generator#chatPrompt} over the SPI, on the natives-free counting model (its tokenizer maps each digit to a
 * token) with a head that may have a template: the template's text, tokenized with parse_special, one BOS only; the
 * fallback without a template or with one the backend does not know.
 */
class ChatPromptTest {
    static final int BOS = 1;
    static final List<ChatMessage> CHAT = List.of(ChatMessage.system("2"), ChatMessage.user("34"), ChatMessage.assistant("5"),
            ChatMessage.user("6"));

    /** The counting backend whose head has {@code template} (null: none) and renders a known one as BOS + 7 + the contents. */
    static final class TemplatedBackend implements SpanBackend {
        final CountingBackend counting = new CountingBackend(4);
        final String template;
        final List<Boolean> parseSpecial = new ArrayList<>();

        TemplatedBackend(String template) {
            this.template = template;
        }

        @Override public String name() { return "templated"; }
        @Override public String engineVersion() { return "test"; }
        @Override public List<DeviceInfo> devices() { return List.of(); }
        @Override public ModelInfo inspect(Path model) { return counting.inspect(model); }
        @Override public Span openSpan(Path model, int start, int end, SpanOptions o) { return counting.openSpan(model, start, end, o); }
        @Override public ReferenceDecoder openReference(Path model, ReferenceOptions o) { return counting.openReference(model, o); }

        @Override
        public ModelHead openHead(Path model, SpanOptions options) {
            ModelHead h = counting.openHead(model, options);
            return new ModelHead() {
                @Override public int nEmbd() { return h.nEmbd(); }
                @Override public int nVocab() { return h.nVocab(); }
                @Override public String detokenize(int[] tokens) { return h.detokenize(tokens); }
                @Override public boolean isEndOfGeneration(int token) { return h.isEndOfGeneration(token); }
                @Override public float[] embed(int[] tokens) { return h.embed(tokens); }
                @Override public float[] logits(float[] hidden, int n, List<Integer> rows) { return h.logits(hidden, n, rows); }
                @Override public Sampler sampler(SamplingParams params) { return h.sampler(params); }
                @Override public void close() { h.close(); }

                /** BOS (token 1) first when addSpecial, as a SentencePiece vocabulary does. */
                @Override
                public int[] tokenize(String text, boolean addSpecial) {
                    int[] t = h.tokenize(text, false);
                    if (!addSpecial) return t;
                    int[] out = new int[t.length + 1];
                    out[0] = BOS;
                    System.arraycopy(t, 0, out, 1, t.length);
                    return out;
                }

                @Override
                public int[] tokenize(String text, boolean addSpecial, boolean special) {
                    synchronized (parseSpecial) { parseSpecial.add(special); }
                    return tokenize(text, addSpecial);
                }

                @Override
                public Optional<String> chatTemplate() {
                    return Optional.ofNullable(template);
                }

                @Override
                public Optional<String> applyChatTemplate(String t, List<TemplateMessage> messages, boolean addAssistant) {
                    if (!t.equals("known")) return Optional.empty();
                    assertTrue(addAssistant, "the prompt ends with the assistant's turn");
                    assertEquals(List.of("system", "user", "assistant", "user"), messages.stream().map(TemplateMessage::role).toList());
                    // The template writes BOS itself (as Llama 2's does): the prompt must hold it once.
                    return Optional.of(BOS + "7" + messages.stream().map(TemplateMessage::content).collect(Collectors.joining()));
                }
            };
        }
    }

    static Generator generator(TemplatedBackend backend) {
        return Catena.local(Path.of("counting.gguf")).backend(backend).build();
    }

    @Test
    void aKnownTemplateRendersWithSpecialTokensAndOneBos() {
        var backend = new TemplatedBackend("known");
        try (Generator g = generator(backend)) {
            ChatPrompt p = g.chatPrompt(CHAT);
            assertTrue(p.templated());
            assertEquals("1723456", p.text());
            assertEquals(List.of(BOS, 7, 2, 3, 4, 5, 6), p.tokens(), "the template's BOS and the vocabulary's are one");
            assertEquals(List.of(true), backend.parseSpecial, "the rendered template is tokenized with parse_special");
            var out = g.generate(p.request().maxTokens(2).greedy().build());
            assertEquals(7, out.promptTokens().size());
        }
    }

    @Test
    void withoutATemplateOrWithAnUnknownOneTheFallbackIsPlainText() {
        for (String template : Arrays.asList(null, "", "unknown")) {
            var backend = new TemplatedBackend(template);
            try (Generator g = generator(backend)) {
                ChatPrompt p = g.chatPrompt(CHAT);
                assertFalse(p.templated(), "template " + template);
                assertEquals("System: 2\nUser: 34\nAssistant: 5\nUser: 6\nAssistant:", p.text());
                assertEquals(g.tokenize(p.text(), true), p.tokens());
                assertTrue(backend.parseSpecial.isEmpty(), "user text is never parsed for special tokens");
            }
        }
    }

    @Test
    void badInputIsRefused() {
        Generator g = generator(new TemplatedBackend("known"));
        assertThrows(IllegalArgumentException.class, () -> g.chatPrompt(List.of()));
        assertThrows(NullPointerException.class, () -> ChatMessage.user(null));
        g.close();
        assertThrows(IllegalStateException.class, () -> g.chatPrompt(CHAT));
    }
}
