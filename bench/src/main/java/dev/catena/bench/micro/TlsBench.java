package dev.catena.bench.micro;

import dev.catena.core.Identity;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.nio.ByteBuffer;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What TLS 1.3 adds to one hop's bytes (issue 14): the JDK's SSLEngine (as Netty's SslHandler drives it)
 * encrypting one token's hidden state at n_embd 4096 in f32 (16 KiB plus a header) on one side and
 * decrypting it on the other, after a handshake with an Ed25519 certificate. The socket and thread
 * costs are the same with and without TLS; this is the part TLS adds.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TlsBench {
    @Param({"4096"})
    int nEmbd;

    SSLEngine client, server;
    ByteBuffer plain, wire, received, empty = ByteBuffer.allocate(0);

    @Setup
    public void setUp() throws Exception {
        Identity id = Identity.generate();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("id", id.privateKey(), new char[0], new Certificate[]{id.certificate()});
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, new char[0]);
        TrustManager trustAll = new X509TrustManager() { // the benchmark measures records, not trust decisions
            @Override public void checkClientTrusted(X509Certificate[] chain, String authType) { }
            @Override public void checkServerTrusted(X509Certificate[] chain, String authType) { }
            @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        };
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keys.getKeyManagers(), new TrustManager[]{trustAll}, null);
        client = context.createSSLEngine("localhost", 1);
        client.setUseClientMode(true);
        server = context.createSSLEngine();
        server.setUseClientMode(false);
        int packet = client.getSession().getPacketBufferSize() * 4, app = client.getSession().getApplicationBufferSize() * 4;
        wire = ByteBuffer.allocate(Math.max(packet, nEmbd * 4 * 2));
        received = ByteBuffer.allocate(Math.max(app, nEmbd * 4 * 2));
        handshake(packet, app);
        byte[] bytes = new byte[nEmbd * 4 + 64];
        new Random(14).nextBytes(bytes);
        plain = ByteBuffer.wrap(bytes);
    }

    private void handshake(int packet, int app) throws Exception {
        ByteBuffer c2s = ByteBuffer.allocate(packet), s2c = ByteBuffer.allocate(packet), sink = ByteBuffer.allocate(app);
        client.beginHandshake();
        server.beginHandshake();
        for (int i = 0; i < 1000 && !(done(client) && done(server)); i++) {
            step(client, s2c, c2s, sink);
            step(server, c2s, s2c, sink);
        }
        if (!(done(client) && done(server))) throw new IllegalStateException("TLS handshake did not finish");
    }

    private static boolean done(SSLEngine e) {
        var s = e.getHandshakeStatus();
        return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
    }

    private void step(SSLEngine e, ByteBuffer in, ByteBuffer out, ByteBuffer sink) throws Exception {
        switch (e.getHandshakeStatus()) {
            case NEED_WRAP -> e.wrap(empty, out);
            case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                in.flip();
                e.unwrap(in, sink);
                in.compact();
                sink.clear();
            }
            case NEED_TASK -> {
                Runnable task;
                while ((task = e.getDelegatedTask()) != null) task.run();
            }
            default -> { }
        }
    }

    /** One hop's payload through TLS: wrap (encrypt) on the sender, unwrap (decrypt) on the receiver. */
    @Benchmark
    public int wrapAndUnwrap() throws Exception {
        plain.rewind();
        wire.clear();
        while (plain.hasRemaining()) client.wrap(plain, wire);
        wire.flip();
        received.clear();
        while (wire.hasRemaining()) {
            if (server.unwrap(wire, received).bytesConsumed() == 0) break;
        }
        return received.position();
    }
}
