package dev.catena.ffm.llama;

import dev.catena.api.spi.TemplateMessage;
import dev.catena.ffm.GgufEdits;
import dev.catena.ffm.TestModels;
import dev.catena.ffm.testmodel.TestModelCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llama.cpp's chat templates through {@code llama_chat_apply_template} and {@code llama_model_chat_template}: the
 * renderings are written out by hand from the templates' documented formats, so a binding that passed the wrong
 * messages, lengths or flags would show.
 */
class LlamaChatTemplateTest {
    static final List<TemplateMessage> CHAT = List.of(
            new TemplateMessage("system", "You tell stories."),
            new TemplateMessage("user", "Once upon a time"),
            new TemplateMessage("assistant", "there was a cat."),
            new TemplateMessage("user", "What was its name?"));

    static final String CHATML = """
            <|im_start|>system
            You tell stories.<|im_end|>
            <|im_start|>user
            Once upon a time<|im_end|>
            <|im_start|>assistant
            there was a cat.<|im_end|>
            <|im_start|>user
            What was its name?<|im_end|>
            """;

    @Test
    void rendersChatmlByNameAndByItsJinjaText() {
        assertEquals(Optional.of(CHATML + "<|im_start|>assistant\n"), LlamaChatTemplate.apply("chatml", CHAT, true));
        assertEquals(Optional.of(CHATML), LlamaChatTemplate.apply("chatml", CHAT, false), "no assistant start without add_ass");
        String jinja = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        assertEquals(Optional.of(CHATML + "<|im_start|>assistant\n"), LlamaChatTemplate.apply(jinja, CHAT, true));
    }

    @Test
    void rendersLlama3() {
        String expected = "<|start_header_id|>system<|end_header_id|>\n\nYou tell stories.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nOnce upon a time<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nthere was a cat.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat was its name?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(Optional.of(expected), LlamaChatTemplate.apply("llama3", CHAT, true));
    }

    @Test
    void aLongConversationGrowsTheBuffer() {
        String big = "é".repeat(5000) + "🐈".repeat(3000); // multi-byte: more bytes than characters
        var msgs = List.of(new TemplateMessage("user", big));
        String out = LlamaChatTemplate.apply("chatml", msgs, true).orElseThrow();
        assertEquals("<|im_start|>user\n" + big + "<|im_end|>\n<|im_start|>assistant\n", out);
    }

    @Test
    void anUnknownTemplateIsEmptyNotAnError() {
        assertEquals(Optional.empty(), LlamaChatTemplate.apply("{{ messages | no_such_filter }}", CHAT, true));
        assertEquals(Optional.empty(), LlamaChatTemplate.apply("", CHAT, true));
    }

    @Test
    void aNulCharacterIsRefused() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> LlamaChatTemplate.apply("chatml", List.of(new TemplateMessage("user", "a\0b")), true));
        assertTrue(e.getMessage().contains("NUL"), e.getMessage());
    }

    @Test
    void builtinTemplatesAreListed() {
        List<String> names = LlamaChatTemplate.builtinTemplates();
        assertTrue(names.containsAll(List.of("chatml", "llama3", "llama2")), names.toString());
    }

    @Test
    void theModelsTemplateIsReadFromGguf(@TempDir Path tmp) {
        try (LlamaModel plain = LlamaModel.vocabOnly(TestModels.stories260K())) {
            assertEquals(Optional.empty(), plain.chatTemplate(), "stories260K has no tokenizer.chat_template");
        }
        Path withTemplate = GgufEdits.withMetadata(TestModels.stories260K(), tmp.resolve("chat.gguf"), "tokenizer.chat_template",
                "{{ '<|im_start|>' }} and so on");
        try (LlamaModel m = LlamaModel.vocabOnly(withTemplate)) {
            assertEquals(Optional.of("{{ '<|im_start|>' }} and so on"), m.chatTemplate());
        }
    }

    @Test
    void qwen2sTemplateRendersAndItsMarkersAreSpecialTokens() {
        Path qwen2 = TestModelCache.vocabDir().resolve("ggml-vocab-qwen2.gguf");
        try (LlamaModel m = LlamaModel.vocabOnly(qwen2)) {
            String template = m.chatTemplate().orElseThrow();
            assertTrue(template.contains("<|im_start|>"), template);
            String prompt = LlamaChatTemplate.apply(template, CHAT, true).orElseThrow();
            assertEquals(CHATML + "<|im_start|>assistant\n", prompt, "llama.cpp recognises Qwen2's template as ChatML");
            LlamaVocab v = m.vocab();
            int[] special = v.tokenize("<|im_start|>user\nHi<|im_end|>", false, true);
            int[] plain = v.tokenize("<|im_start|>user\nHi<|im_end|>", false, false);
            assertEquals(v.tokenize("<|im_start|>", false, true).length, 1, "one special token");
            assertEquals(special[0], v.tokenize("<|im_start|>", false, true)[0]);
            assertTrue(plain.length > special.length + 4, "without parse_special the markers are text: " + plain.length);
        }
    }
}
