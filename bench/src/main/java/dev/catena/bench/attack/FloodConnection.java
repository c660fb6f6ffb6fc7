package dev.catena.bench.attack;

import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;

/** One attacker connection. */
final class FloodConnection {
    final int slot;
    final int target;
    final SocketChannel channel;
    final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
    long zeros;
    ByteBuffer in;
    boolean connected;
    /** Free for the behaviour's use. */
    int step;
    int replies;
    boolean closeWhenFlushed;

    FloodConnection(int slot, int target, SocketChannel channel) {
        this.slot = slot;
        this.target = target;
        this.channel = channel;
    }

    void write(byte[] bytes) {
        out.add(ByteBuffer.wrap(bytes));
    }

    /** Queues {@code n} zero bytes, written from one shared buffer (the attacker holds nothing per connection). */
    void writeZeros(long n) {
        zeros += n;
    }

    /** Closes the connection from this side; the flood opens it again as for a server close. */
    void close() {
        closeWhenFlushed = true;
    }

    boolean idle() {
        return out.isEmpty() && zeros == 0;
    }
}
