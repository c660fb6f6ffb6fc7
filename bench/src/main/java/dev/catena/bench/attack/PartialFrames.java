package dev.catena.bench.attack;

import dev.catena.transport.proto.Envelope;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Maximal frames held partial: an anchor connection first opens the largest session the server
 * admits, which raises what any greeted connection may announce (the largest step a session can
 * take, at most the transport's 64 MiB); then hundreds of greeted connections each announce
 * that much, send {@code partialBytes} of it, and hold.
 */
final class PartialFrames extends Attacks.Attack {
    private final AttackSuite.Scale scale;
    private final List<Attacks.Target> targets;
    private final List<InetSocketAddress> addresses;
    private final int sourceBase;
    private long announced = Long.MAX_VALUE;
    private int anchorLength;

    PartialFrames(AttackSuite.Scale scale, List<Attacks.Target> targets, List<InetSocketAddress> addresses, int sourceBase) {
        super("partial-frames", scale.partial());
        this.scale = scale;
        this.targets = targets;
        this.addresses = addresses;
        this.sourceBase = sourceBase;
    }

    @Override
    void start() throws IOException {
        for (Attacks.Target t : targets) {
            Socket s = new Socket();
            anchors.add(s);
            // From an attacker's address, not the honest client's: on a network they are different hosts.
            s.bind(new InetSocketAddress(java.net.InetAddress.getByAddress(new byte[]{127, 2, 0, (byte) (1 + anchors.size())}), 0));
            s.connect(t.address(), 10_000);
            s.setSoTimeout(10_000);
            var in = new DataInputStream(s.getInputStream());
            s.getOutputStream().write(Wire.hello("anchor"));
            int length = 0;
            for (int tokens = 1 << 18; tokens >= 1 << 10 && length == 0; tokens /= 2) {
                s.getOutputStream().write(Wire.frame(Attacks.open(tokens, t.info(), tokens)));
                Envelope e;
                do e = Wire.read(in); while (e.hasHelloAck());
                if (e.hasOpened()) length = tokens;
            }
            // What a greeted connection may announce now: the largest step of that session, in f32.
            long allowed = length == 0 ? 64 << 10 : (64 << 10) + (long) length * t.nEmbd() * 4;
            anchorLength = Math.max(anchorLength, length);
            announced = Math.min(announced, Math.min(allowed, 64L << 20));
        }
        byte[] head = Wire.concat(Wire.hello("partial"), ByteBuffer.allocate(8).putInt((int) announced).putInt(0).array());
        long body = Math.min(announced - 5, scale.partialBytes());
        flood = new Flood(name, addresses, perServer, sourceBase, c -> {
            c.write(head);
            c.writeZeros(body);
        }, 100, 2).start(); // evicted connections come back at 20/s: pressure on memory, not a bandwidth flood
    }

    @Override
    String findings() {
        return "anchor session " + anchorLength + " tokens; announced " + announced + " B, sent "
                + Math.min(announced - 5, scale.partialBytes()) + " B each; " + super.findings();
    }
}
