/** An OpenAI-compatible HTTP API over any Catena {@code Generator}, on Netty's HTTP codec. */
module dev.catena.openai {
    requires transitive dev.catena.core;
    requires io.netty.codec.http;
    requires io.netty.transport;
    requires io.netty.transport.classes.epoll;
    requires io.netty.buffer;
    requires io.netty.common;
    requires io.netty.codec;
    requires tools.jackson.databind;
    requires micrometer.core;
    requires micrometer.registry.prometheus;
    exports dev.catena.openai;
}
