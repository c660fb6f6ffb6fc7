package dev.catena.transport.netty;

import com.google.protobuf.CodedOutputStream;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.spi.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.CorruptedFrameException;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * {@code [u32 frame length][u32 header length][header][payload]}, big-endian. Neither direction
 * copies the payload: it is written from the caller's buffer and read as a view of the receive buffer.
 * Public only for the micro benchmarks: the package is not exported.
 */
public final class FrameCodec {
    private FrameCodec() {
    }

    /**
     * The prefixes and the header in one direct buffer, then the payload wrapped, not copied: with a
     * direct payload the socket write gathers both without any copy.
     */
    public static ByteBuf encode(Frame frame, ByteBufAllocator alloc) throws IOException {
        Envelope header = frame.header();
        int headerLength = header.getSerializedSize();
        ByteBuf head = alloc.directBuffer(8 + headerLength);
        try {
            head.writeInt((int) frame.frameLength());
            head.writeInt(headerLength);
            CodedOutputStream out = CodedOutputStream.newInstance(head.nioBuffer(8, headerLength));
            header.writeTo(out);
            out.checkNoSpaceLeft();
            head.writerIndex(8 + headerLength);
        } catch (IOException | RuntimeException e) {
            head.release();
            throw e;
        }
        ByteBuffer payload = frame.payload();
        if (!payload.hasRemaining()) {
            return head;
        }
        CompositeByteBuf composite = alloc.compositeDirectBuffer(2);
        return composite.addComponents(true, head, Unpooled.wrappedBuffer(payload));
    }

    /**
     * Decodes one frame (the frame length prefix already stripped). The payload is a read-only view
     * of {@code frame}, valid until it is released.
     *
     * @throws CorruptedFrameException for a frame too short for its header length, or one whose
     *                                 header length exceeds it
     * @throws IOException             for a header that is not an {@link Envelope}
     */
    public static Frame decode(ByteBuf frame) throws IOException {
        int length = frame.readableBytes();
        if (length < 4) {
            throw new CorruptedFrameException("frame of " + length + " bytes: too short for its header length");
        }
        int start = frame.readerIndex();
        long headerLength = frame.getUnsignedInt(start);
        if (headerLength > length - 4) {
            throw new CorruptedFrameException("header length " + headerLength + " exceeds the frame's "
                    + (length - 4) + " bytes");
        }
        int h = (int) headerLength;
        Envelope header = Envelope.parseFrom(frame.nioBuffer(start + 4, h));
        int payloadLength = length - 4 - h;
        ByteBuffer payload = payloadLength == 0 ? null : frame.nioBuffer(start + 4 + h, payloadLength).asReadOnlyBuffer();
        return new Frame(header, payload);
    }
}
