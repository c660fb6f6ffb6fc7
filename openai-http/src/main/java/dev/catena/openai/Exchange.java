package dev.catena.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import tools.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's response, writable from any thread: a JSON body, an {@link ApiError}, or an SSE stream of events.
 * Generation runs on worker threads, so it writes through this rather than through Netty's handler context.
 */
final class Exchange {
    final Channel ch;
    final boolean keepAlive;
    /**
     * Runs once, just before the response's last bytes are written: the request's slot is free by the time
     * the client can send its next request, so a client that waits for each answer is never refused.
     */
    private volatile Runnable beforeLastWrite = () -> { };
    /** Told the status of the response when its head is written (for the request counters). */
    private volatile java.util.function.IntConsumer onStatus = status -> { };

    /** The SSE stream's writes, which come from the generation's thread. */
    private final CoalescingWriter events;
    /** The event stream's head and leading events, held until its first token so that all go out in one write (generation thread only). */
    private List<Object> held;

    /** @param streamIntervalNanos the SSE stream's interval ({@link CoalescingWriter}); 0 writes each event at once */
    Exchange(Channel ch, boolean keepAlive, long streamIntervalNanos) {
        this.ch = ch;
        this.keepAlive = keepAlive;
        this.events = new CoalescingWriter(ch, streamIntervalNanos);
    }

    /** A complete JSON response with its length. */
    static FullHttpResponse jsonResponse(HttpResponseStatus status, JsonNode body) {
        byte[] bytes = OpenAiServer.JSON.writeValueAsBytes(body);
        var r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    /** The 413 for a body over {@code max} bytes, written straight from the aggregator, closing when the body is unread. */
    static void tooLarge(ChannelHandlerContext ctx, HttpMessage oversized, int max) {
        var err = new ApiError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                "the request body is over the limit of " + max + " bytes", null, "request_too_large");
        boolean close = oversized instanceof FullHttpMessage || !HttpUtil.isKeepAlive(oversized);
        FullHttpResponse r = jsonResponse(err.status, err.body());
        if (close) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        var f = ctx.writeAndFlush(r);
        if (close) f.addListener(ChannelFutureListener.CLOSE);
        else f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    void onStatus(java.util.function.IntConsumer hook) {
        this.onStatus = hook;
    }

    void beforeLastWrite(Runnable hook) {
        this.beforeLastWrite = hook;
    }

    private void lastWrite() {
        Runnable hook = beforeLastWrite;
        beforeLastWrite = () -> { };
        hook.run();
    }

    void json(HttpResponseStatus status, JsonNode body) {
        send(jsonResponse(status, body));
    }

    void error(ApiError e) {
        var r = jsonResponse(e.status, e.body());
        if (e.status.equals(HttpResponseStatus.TOO_MANY_REQUESTS)) r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        if (e.status.equals(HttpResponseStatus.UNAUTHORIZED)) r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        send(r);
    }

    void send(FullHttpResponse r) {
        onStatus.accept(r.status().code());
        lastWrite();
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ch.writeAndFlush(r);
        } else {
            ch.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Starts the SSE stream; {@code leadingData} (chat's role chunk) are events that go out with the first token's,
     * in the same write.
     */
    void startEvents(List<String> leadingData) {
        onStatus.accept(HttpResponseStatus.OK.code());
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream");
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        r.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        if (keepAlive) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        // Held for the first event: queued alone, a drain of the event loop could take the head before that event is
        // queued, costing the first token a second wake-up of the loop and of the client.
        held = new ArrayList<>(1 + leadingData.size());
        held.add(r);
        for (String d : leadingData) held.add(new DefaultHttpContent(encode(d)));
    }

    private static ByteBuf encode(String data) {
        return Unpooled.wrappedBuffer(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    /** A whole pre-encoded event, framed as an HTTP chunk ({@link TokenChunks}). */
    void event(ByteBuf framed) {
        writeWithHead(framed);
        events.awaitWritable();
    }

    /** The events {@code data: DATA} for each of {@code lastData}, then the stream's end, queued at once: one drain writes them. */
    void endEvents(List<String> lastData) {
        lastWrite();
        List<Object> msgs = new ArrayList<>(lastData.size() + 2);
        List<Object> first = held;
        held = null;
        if (first != null) msgs.addAll(first);
        for (String d : lastData) msgs.add(new DefaultHttpContent(encode(d)));
        msgs.add(LastHttpContent.EMPTY_LAST_CONTENT);
        if (keepAlive) events.writeAll(msgs);
        else events.writeAllAndClose(msgs);
    }

    /** Sends the held head and leading events now, if still held: the first token had no text to carry them. */
    void sendHead() {
        List<Object> first = held;
        held = null;
        if (first != null) events.writeAll(first);
    }

    /** Writes the events queued so far at once, without waiting for the stream's tick. */
    void flushEvents() {
        events.writeAll(List.of());
    }

    /** Releases the events queued and not yet written: the client left and no end will be written. */
    void discardEvents() {
        held = null;
        events.discard();
    }

    private void writeWithHead(Object msg) {
        List<Object> first = held;
        held = null;
        if (first == null) {
            events.write(msg);
        } else { // the first token goes out at once, whatever the stream's interval: it is the time to first token
            first.add(msg);
            events.writeAll(first);
        }
    }
}
