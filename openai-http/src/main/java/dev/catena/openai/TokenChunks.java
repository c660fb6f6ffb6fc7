package dev.catena.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import tools.jackson.core.io.JsonStringEncoder;

import java.nio.charset.StandardCharsets;

/**
 * One streamed response's token chunks, pre-encoded: every token chunk of a response is the same JSON but for its text,
 * so the bytes before and after the text are built once, and each token costs only escaping its text into one buffer
 * (no object tree, no serializer). The bytes are those Jackson writes for {@link CompletionWriter}'s other chunks: the
 * fields in the same order, {@code "logprobs":null,"finish_reason":null}, and {@code "usage":null} when the request
 * asked for usage. Each comes framed as one piece of HTTP/1.1's chunked body (its size line, the event, CRLF): the
 * event loop then only copies it to the socket, past the HTTP encoder ({@link CoalescingWriter}).
 */
final class TokenChunks {
    private final byte[] before;
    private final byte[] after;

    TokenChunks(String id, long created, String model, boolean chat, boolean includeUsage) {
        String head = "data: {\"id\":" + quoted(id) + ",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                + "\",\"created\":" + created + ",\"model\":" + quoted(model) + ",\"choices\":[{\"index\":0,"
                + (chat ? "\"delta\":{\"content\":\"" : "\"text\":\"");
        String tail = (chat ? "\"}" : "\"") + ",\"logprobs\":null,\"finish_reason\":null}]" + (includeUsage ? ",\"usage\":null" : "")
                + "}\n\n";
        this.before = head.getBytes(StandardCharsets.UTF_8);
        this.after = tail.getBytes(StandardCharsets.UTF_8);
    }

    /** The SSE event ({@code data: ...} and its blank line) carrying {@code text}, framed as one HTTP chunk. */
    ByteBuf token(ByteBufAllocator alloc, String text) {
        byte[] escaped = JsonStringEncoder.getInstance().quoteAsUTF8(text);
        int length = before.length + escaped.length + after.length;
        byte[] size = (Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuf b = alloc.directBuffer(size.length + length + 2);
        return b.writeBytes(size).writeBytes(before).writeBytes(escaped).writeBytes(after).writeByte('\r').writeByte('\n');
    }

    private static String quoted(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsUTF8(s), StandardCharsets.UTF_8) + "\"";
    }
}
