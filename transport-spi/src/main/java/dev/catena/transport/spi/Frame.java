package dev.catena.transport.spi;

import dev.catena.transport.proto.Envelope;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One protocol message: a protobuf header and the raw bytes of the tensor it describes (empty
 * when it describes none). On the wire: {@code [u32 frame length][u32 header length][header][payload]},
 * big-endian lengths, the frame length counting everything after itself.
 * <p>
 * A received payload is a read-only view, valid only while the handler runs (a transport may
 * reuse its memory): copy what you keep, and copy before forwarding it with {@code send}, which is
 * asynchronous. A sent payload belongs to the transport: don't change it after {@code send}. The
 * bytes between the payload's position and limit are sent; its position is not moved.
 */
public record Frame(Envelope header, ByteBuffer payload) {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    public Frame {
        Objects.requireNonNull(header, "header");
        payload = payload == null ? EMPTY : payload;
    }

    public static Frame of(Envelope header) {
        return new Frame(header, EMPTY);
    }

    /**
     * The value of the frame length prefix: header length prefix, header and payload. This is what
     * {@link TransportConfig#maxFrameBytes()} bounds.
     */
    public long frameLength() {
        return 4L + header.getSerializedSize() + payload.remaining();
    }

    /** Bytes on the wire, prefixes included. */
    public long wireBytes() {
        return 8L + header.getSerializedSize() + payload.remaining();
    }
}
