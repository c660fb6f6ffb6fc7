package dev.catena.bench.attack;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.InfoRequest;
import dev.catena.transport.proto.ServerInfo;
import dev.catena.transport.proto.Step;
import dev.catena.transport.proto.TensorMeta;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/** Small well-formed frames before any Hello: Info, Open and Step. The server must serve none of them. */
final class PreHello extends Attacks.Attack {
    private final List<Attacks.Target> targets;
    private final List<InetSocketAddress> addresses;
    private final int sourceBase;
    private final Random random;
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();

    PreHello(AttackSuite.Scale scale, List<Attacks.Target> targets, List<InetSocketAddress> addresses, int sourceBase, Random random) {
        super("pre-hello", scale.preHello());
        this.targets = targets;
        this.addresses = addresses;
        this.sourceBase = sourceBase;
        this.random = random;
    }

    @Override
    void start() {
        flood = new Flood(name, addresses, perServer, sourceBase, new FloodBehaviour() {
            @Override
            public void opened(FloodConnection c) {
                tick(c);
            }

            @Override
            public void tick(FloodConnection c) {
                ServerInfo info = targets.get(c.target).info();
                byte[] id = new byte[16];
                random.nextBytes(id);
                c.write(Wire.concat(
                        Wire.frame(Envelope.newBuilder().setRequestId(1).setInfo(InfoRequest.getDefaultInstance()).build()),
                        Wire.frame(Attacks.open(2, info, 64)),
                        Wire.frame(Envelope.newBuilder().setRequestId(3).setStep(Step.newBuilder()
                                .setSessionId(ByteString.copyFrom(id)).setHidden(TensorMeta.newBuilder().setDtype(DType.F32)
                                        .addShape(1).addShape(targets.get(c.target).nEmbd()))).build())));
            }

            @Override
            public boolean parsesReplies() {
                return true;
            }

            @Override
            public void frame(FloodConnection c, Envelope e) {
                if (e.hasServerInfo() || e.hasOpened()) served.incrementAndGet();
                if (e.hasError()) errors.incrementAndGet();
            }
        }, 200, 100).start();
    }

    @Override
    String findings() {
        return "served before Hello: " + served.get() + ", error replies: " + errors.get() + "; " + super.findings();
    }

    @Override
    String violation() {
        return served.get() == 0 ? "" : "served " + served.get() + " requests (Info, Open) on connections that sent no Hello";
    }
}
