package dev.catena.bench.attack;

import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.Hello;
import dev.catena.transport.proto.InfoRequest;
import dev.catena.transport.proto.ServerInfo;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Catena's framing as an attacker writes it by hand: {@code [u32 frame length][u32 header length][Envelope][payload]},
 * big-endian, the frame length counting everything after itself. Also a blocking probe that asks a
 * server for its {@code ServerInfo} the way an honest peer would (Hello first).
 */
final class Wire {
    private Wire() {
    }

    static byte[] frame(Envelope header) {
        byte[] h = header.toByteArray();
        return ByteBuffer.allocate(8 + h.length).putInt(4 + h.length).putInt(h.length).put(h).array();
    }

    static byte[] hello(String agent) {
        return frame(Envelope.newBuilder().setRequestId(1).setHello(Hello.newBuilder().setProtocolVersion(1).setAgent(agent)).build());
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** The server's {@code ServerInfo}, asked on a fresh connection after a Hello. */
    static ServerInfo info(InetSocketAddress server, int timeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server, timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(hello("catena-attack-probe"));
            out.write(frame(Envelope.newBuilder().setRequestId(2).setInfo(InfoRequest.getDefaultInstance()).build()));
            out.flush();
            while (true) {
                Envelope e = read(in);
                if (e.hasServerInfo()) return e.getServerInfo();
                if (e.hasError()) throw new IOException("the server refused Info: " + e.getError().getMessage());
            }
        }
    }

    static Envelope read(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 4 || length > 1 << 20) throw new IOException("unexpected frame length " + length);
        byte[] body = new byte[length];
        in.readFully(body);
        int headerLength = ByteBuffer.wrap(body).getInt();
        return Envelope.parseFrom(Arrays.copyOfRange(body, 4, 4 + headerLength));
    }
}
