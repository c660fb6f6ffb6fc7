package dev.catena.openai;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
                case ByteBuf b -> "bytes";
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

    @Test
    void theHeadWaitsForTheFirstEventAndLeavesWithItInOneFlush() {
        var rec = new Recorder();
        var ch = new EmbeddedChannel(rec);
        var ex = new Exchange(ch, true);
        ex.startEvents();
        ch.runPendingTasks(); // a drain of the event loop now finds nothing: the head alone would cost the client a wake-up
        assertEquals(List.of(), rec.ops);
        ex.event("a");
        ch.runPendingTasks();
        assertEquals(List.of("head 200", "event data: a", "flush"), rec.ops);
        ex.event("b");
        ch.runPendingTasks();
        ex.endEvents(List.of("c", "[DONE]"));
        ch.runPendingTasks(); // the last events and the end leave together
        assertEquals(List.of("head 200", "event data: a", "flush", "event data: b", "flush", "event data: c", "event data: [DONE]",
                "last", "flush"), rec.ops);
        ch.finishAndReleaseAll();
    }

    @Test
    void aStreamEndedBeforeAnyEventStillSendsItsHeadFirst() {
        var rec = new Recorder();
        var ch = new EmbeddedChannel(rec);
        var ex = new Exchange(ch, true);
        ex.startEvents();
        ex.endEvents(List.of());
        ch.runPendingTasks();
        assertEquals(List.of("head 200", "last", "flush"), rec.ops);
        ch.finishAndReleaseAll();
    }

    @Test
    void withoutKeepAliveTheHeadAndLastContentGoOutAndTheConnectionCloses() {
        var rec = new Recorder();
        var ch = new EmbeddedChannel(rec);
        var ex = new Exchange(ch, false);
        ex.startEvents();
        ex.endEvents(List.of("{\"error\":{}}"));
        ch.runPendingTasks();
        assertEquals(List.of("head 200", "event data: {\"error\":{}}", "last", "flush"), rec.ops);
        assertEquals(false, ch.isOpen(), "the connection closes after the last content");
        ch.finishAndReleaseAll();
    }
}
