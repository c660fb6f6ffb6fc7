package dev.catena.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How an SSE stream's messages reach the channel: in order, and the head together with the first event. */
class ExchangeEventsTest {
    /** Records each write and each flush, in order, as the event loop performs them; writes complete at the flush, as on a socket. */
    private static final class Recorder extends ChannelOutboundHandlerAdapter {
        final List<String> ops = new ArrayList<>();
        private final List<ChannelPromise> unflushed = new ArrayList<>();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ops.add(switch (msg) {
                case HttpResponse r -> "head " + r.status().code();
                case LastHttpContent l -> "last";
                case HttpContent c -> "event " + c.content().toString(StandardCharsets.UTF_8).trim();
                case ByteBuf b -> "event " + unframed(b);
                default -> msg.getClass().getSimpleName();
            });
            ReferenceCountUtil.release(msg);
            unflushed.add(promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            ops.add("flush");
            List<ChannelPromise> done = List.copyOf(unflushed);
            unflushed.clear();
            done.forEach(ChannelPromise::setSuccess);
        }
    }

    /** A recorder, the channel it records (its clock stands still until advanced) and an exchange streaming on it. */
    private record Stream(Recorder rec, EmbeddedChannel ch, Exchange ex) {
    }

    /** A started SSE stream with a stream interval of {@code intervalMillis} and {@code leading} events held for its first token. */
    private static Stream started(boolean keepAlive, long intervalMillis, List<String> leading) {
        var rec = new Recorder();
        var ch = new EmbeddedChannel(rec);
        ch.freezeTime();
        var ex = new Exchange(ch, keepAlive, TimeUnit.MILLISECONDS.toNanos(intervalMillis));
        ex.startEvents(leading);
        return new Stream(rec, ch, ex);
    }

    /** An event framed as an HTTP chunk, as {@link TokenChunks} makes them. */
    private static ByteBuf data(String text) {
        String event = "data: " + text + "\n\n";
        return Unpooled.copiedBuffer(Integer.toHexString(event.length()) + "\r\n" + event + "\r\n", StandardCharsets.UTF_8);
    }

    /** The event inside a framed chunk, trimmed. */
    private static String unframed(ByteBuf b) {
        String s = b.toString(StandardCharsets.UTF_8);
        int start = s.indexOf("\r\n") + 2;
        assertEquals(Integer.parseInt(s.substring(0, start - 2), 16), s.length() - start - 2, "the chunk's size line: " + s);
        assertTrue(s.endsWith("\r\n"), s);
        return s.substring(start, s.length() - 2).trim();
    }

    @Test
    void theHeadWaitsForTheFirstEventAndLeavesWithItInOneFlush() {
        var s = started(true, 0, List.of());
        s.ch().runPendingTasks(); // a drain of the event loop now finds nothing: the head alone would cost the client a wake-up
        assertEquals(List.of(), s.rec().ops);
        s.ex().event(data("a"));
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush"), s.rec().ops);
        s.ex().event(data("b"));
        s.ch().runPendingTasks();
        s.ex().endEvents(List.of("c", "[DONE]"));
        s.ch().runPendingTasks(); // the last events and the end leave together
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "event data: [DONE]",
                "last", "flush"), s.rec().ops);
        s.ch().finishAndReleaseAll();
    }

    @Test
    void aStreamEndedBeforeAnyEventStillSendsItsHeadFirst() {
        var s = started(true, 0, List.of());
        s.ex().endEvents(List.of());
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "last", "flush"), s.rec().ops);
        s.ch().finishAndReleaseAll();
    }

    @Test
    void withoutKeepAliveTheHeadAndLastContentGoOutAndTheConnectionCloses() {
        var s = started(false, 0, List.of());
        s.ex().endEvents(List.of("{\"error\":{}}"));
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: {\"error\":{}}", "last", "flush"), s.rec().ops);
        assertEquals(false, s.ch().isOpen(), "the connection closes after the last content");
        s.ch().finishAndReleaseAll();
    }

    @Test
    void chatsRoleChunkWaitsForTheFirstTokenAndLeavesWithIt() {
        var s = started(true, 5, List.of("role"));
        s.ch().runPendingTasks();
        assertEquals(List.of(), s.rec().ops);
        s.ex().event(data("a"));
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: role", "event data: a", "flush"), s.rec().ops);
        s.ch().finishAndReleaseAll();
    }

    @Test
    void withAnIntervalTokensFasterThanItShareTheLoopsTicksAndTheEndGoesAtOnce() {
        var s = started(true, 5, List.of());
        s.ex().event(data("a"));
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush"), s.rec().ops, "the first token goes out at once");
        s.ex().event(data("b"));
        s.ch().runPendingTasks();
        assertEquals(5, s.rec().ops.size(), "the second goes out at once too, and arms the tick: " + s.rec().ops);
        s.ex().event(data("c"));
        s.ex().event(data("d"));
        s.ch().runPendingTasks();
        s.ch().advanceTimeBy(4, TimeUnit.MILLISECONDS);
        s.ch().runScheduledPendingTasks();
        assertEquals(5, s.rec().ops.size(), "tokens within the interval wait for its tick: " + s.rec().ops);
        s.ch().advanceTimeBy(1, TimeUnit.MILLISECONDS);
        s.ch().runScheduledPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "event data: d", "flush"),
                s.rec().ops, "the tick writes both in one flush");
        s.ex().event(data("e"));
        s.ex().endEvents(List.of("[DONE]"));
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "event data: d", "flush",
                "event data: e", "event data: [DONE]", "last", "flush"), s.rec().ops, "the end does not wait for the tick, nor does what queued before it");
        s.ch().finishAndReleaseAll();
    }

    @Test
    void aStreamSlowerThanTheIntervalNeverWaitsAndATickThatFindsNothingLetsItGoQuiet() {
        var s = started(true, 5, List.of());
        for (String t : List.of("a", "b", "c")) {
            s.ex().event(data(t));
            s.ch().runPendingTasks();
            s.ch().advanceTimeBy(6, TimeUnit.MILLISECONDS);
            s.ch().runScheduledPendingTasks();
        }
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "flush"), s.rec().ops);
        s.ex().event(data("d"));
        s.ch().runPendingTasks();
        s.ch().advanceTimeBy(1, TimeUnit.MILLISECONDS);
        s.ex().event(data("e")); // within the interval after d: goes out, and arms a tick
        s.ch().runPendingTasks();
        s.ch().advanceTimeBy(5, TimeUnit.MILLISECONDS);
        s.ch().runScheduledPendingTasks(); // which finds nothing: quiet again
        s.ch().advanceTimeBy(1, TimeUnit.MILLISECONDS);
        s.ex().event(data("f"));
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "flush", "event data: d",
                "flush", "event data: e", "flush", "event data: f", "flush"), s.rec().ops);
        s.ch().finishAndReleaseAll();
    }

    @Test
    void onTheWireTheStreamIsOneValidChunkedResponse() {
        var server = new EmbeddedChannel(new HttpServerCodec());
        var ex = new Exchange(server, true, 0);
        var tokens = new TokenChunks("cmpl-1", 1764600000L, "m", false, false);
        ex.startEvents(List.of());
        ex.event(tokens.token(server.alloc(), " Once"));
        ex.event(tokens.token(server.alloc(), " upon \"a\" time\n"));
        ex.endEvents(List.of("[DONE]"));
        server.runPendingTasks();
        var wire = Unpooled.buffer();
        for (ByteBuf b; (b = server.readOutbound()) != null; b.release()) wire.writeBytes(b);

        var client = new EmbeddedChannel(new HttpClientCodec(), new HttpObjectAggregator(1 << 20));
        client.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/completions"));
        client.releaseOutbound();
        client.writeInbound(wire);
        FullHttpResponse r = client.readInbound();
        try {
            assertEquals(200, r.status().code());
            String body = r.content().toString(StandardCharsets.UTF_8);
            String prefix = "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1764600000,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":";
            String suffix = ",\"logprobs\":null,\"finish_reason\":null}]}\n\n";
            assertEquals(prefix + "\" Once\"" + suffix + prefix + "\" upon \\\"a\\\" time\\n\"" + suffix + "data: [DONE]\n\n", body);
        } finally {
            r.release();
        }
        server.finishAndReleaseAll();
        client.finishAndReleaseAll();
    }

    @Test
    void tokensQueuedForATickAreReleasedWhenTheClientLeaves() {
        var s = started(true, 5, List.of());
        s.ex().event(data("a"));
        s.ex().event(data("b"));
        s.ch().runPendingTasks(); // b came within the interval: the tick is armed
        ByteBuf c = data("c");
        ByteBuf d = data("d");
        s.ex().event(c);
        s.ex().discardEvents(); // the generation saw its client gone: no end will be written
        assertEquals(0, c.refCnt(), "a token waiting for the tick is released");
        s.ch().close(); // which drops the armed tick here, as a loop that shuts down does
        s.ex().event(d); // queued while the flag still says armed
        s.ch().runPendingTasks();
        assertEquals(0, d.refCnt(), "a token queued after the close is written at once to the closed channel, which releases it");
        s.ch().finishAndReleaseAll();
    }

    @Test
    void aFirstTokenWithoutTextSendsTheHeadAndChatsRoleAtOnce() {
        var s = started(true, 5, List.of("role"));
        s.ex().sendHead();
        s.ex().sendHead(); // once only
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: role", "flush"), s.rec().ops);
        s.ch().finishAndReleaseAll();
    }

    @Test
    void flushingWritesTheTokensWaitingForATickAtOnce() {
        var s = started(true, 5, List.of());
        s.ex().event(data("a"));
        s.ch().runPendingTasks();
        s.ex().event(data("b"));
        s.ch().runPendingTasks(); // b came within the interval: the tick is armed
        s.ex().event(data("c"));
        s.ch().runPendingTasks();
        assertEquals(5, s.rec().ops.size(), "c waits for the tick: " + s.rec().ops);
        s.ex().flushEvents(); // the generation ended: its last token does not wait for the sessions to close
        s.ch().runPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "flush"), s.rec().ops);
        s.ch().finishAndReleaseAll();
    }
}
