package dev.catena.ffm.llama;

import dev.catena.api.spi.TemplateMessage;
import dev.catena.ffm.internal.llama_chat_message;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static dev.catena.ffm.internal.llama_h.llama_chat_apply_template;
import static dev.catena.ffm.internal.llama_h.llama_chat_builtin_templates;

/**
 * llama.cpp's chat templates ({@code llama_chat_apply_template}): no Jinja engine, but a fixed list of templates that
 * llama.cpp recognises by name ({@code chatml}, {@code llama3}, ...) or by telltale text in a GGUF's
 * {@code tokenizer.chat_template} (e.g. {@code <|im_start|>} is ChatML). Stateless and thread-safe.
 */
public final class LlamaChatTemplate {
    private LlamaChatTemplate() {
    }

    /**
     * {@code messages} rendered with {@code template}, ending with the start of an assistant message when
     * {@code addAssistant}; empty when llama.cpp does not recognise the template (or refuses the conversation, as
     * some templates do for roles they cannot express).
     *
     * @throws IllegalArgumentException when a role or content holds a NUL character (C strings would cut it there)
     */
    public static Optional<String> apply(String template, List<TemplateMessage> messages, boolean addAssistant) {
        for (TemplateMessage m : messages) {
            if (m.role().indexOf('\0') >= 0 || m.content().indexOf('\0') >= 0) {
                throw new IllegalArgumentException("a chat message holds a NUL character (role '" + m.role().replace("\0", "\\0") + "')");
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chat = llama_chat_message.allocateArray(Math.max(1, messages.size()), arena); // (n_msg) {role, content}
            long chars = 0;
            for (int i = 0; i < messages.size(); i++) {
                MemorySegment m = llama_chat_message.asSlice(chat, i);
                llama_chat_message.role(m, arena.allocateFrom(messages.get(i).role()));
                llama_chat_message.content(m, arena.allocateFrom(messages.get(i).content()));
                chars += messages.get(i).content().length();
            }
            MemorySegment tmpl = arena.allocateFrom(template);
            // llama.h recommends twice the messages' characters; templates add their markers on top.
            int capacity = (int) Math.min(Integer.MAX_VALUE - 8, 2 * chars + 256);
            for (int attempt = 0; attempt < 2; attempt++) {
                MemorySegment buf = arena.allocate(capacity);
                int n = llama_chat_apply_template(tmpl, chat, messages.size(), addAssistant, buf, capacity);
                if (n < 0) {
                    return Optional.empty();
                }
                if (n <= capacity) {
                    // strncpy: no terminator when the text fills the buffer, so read exactly n bytes.
                    return Optional.of(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                }
                capacity = n; // llama.cpp says how many bytes the whole text needs
            }
            throw new IllegalStateException("llama_chat_apply_template asked for more room twice");
        }
    }

    /** The names of the templates llama.cpp knows ({@code llama_chat_builtin_templates}), e.g. {@code chatml}. */
    public static List<String> builtinTemplates() {
        try (Arena arena = Arena.ofConfined()) {
            int n = llama_chat_builtin_templates(MemorySegment.NULL, 0);
            MemorySegment names = arena.allocate(ValueLayout.ADDRESS, Math.max(1, n)); // (n) const char *
            n = Math.min(n, llama_chat_builtin_templates(names, n));
            List<String> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                // static strings inside libllama
                out.add(names.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(Long.MAX_VALUE).getString(0));
            }
            return out;
        }
    }
}
