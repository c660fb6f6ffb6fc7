package dev.catena.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bench's SSE reader splits events right however the server cuts its chunks. */
class SseSocketClientTest {
    /** Answers each request on one kept-alive connection with {@code body} cut into the given chunks. */
    private static Thread serve(ServerSocket server, byte[] body, List<int[]> cutsPerRequest) {
        return Thread.ofPlatform().daemon().start(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                for (int[] cuts : cutsPerRequest) {
                    readRequest(in);
                    var r = new ByteArrayOutputStream();
                    r.writeBytes("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    int from = 0;
                    for (int cut : cuts) {
                        chunk(r, body, from, cut);
                        from = cut;
                    }
                    chunk(r, body, from, body.length);
                    r.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.write(r.toByteArray());
                    out.flush();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static void chunk(ByteArrayOutputStream r, byte[] body, int from, int to) {
        if (to <= from) return;
        r.writeBytes((Integer.toHexString(to - from) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        r.write(body, from, to - from);
        r.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /** Reads a request's head and its Content-Length body. */
    private static void readRequest(InputStream in) throws Exception {
        var head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) head.append((char) in.read());
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
        }
        in.readNBytes(length);
    }

    @Test
    void eventsCutAnywhereAcrossChunksArriveWholeAndInOrder() throws Exception {
        long seed = new Random().nextLong();
        var random = new Random(seed);
        String text = "data: {\"text\":\"Once\"}\n\ndata: {\"text\":\" upon é\"}\r\n\r\n: a comment\n\ndata: [DONE]\n\n";
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        List<int[]> cuts = new ArrayList<>();
        cuts.add(new int[0]); // one chunk
        for (int i = 1; i < body.length; i++) cuts.add(new int[] {i}); // two chunks, cut at every byte
        for (int r = 0; r < 20; r++) cuts.add(random.ints(4, 1, body.length).sorted().distinct().toArray());
        try (var server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             var client = new SseSocketClient(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()))) {
            serve(server, body, cuts);
            for (int[] c : cuts) {
                List<String> got = new ArrayList<>();
                client.post("/v1/completions", "{}", got::add);
                assertEquals(List.of("{\"text\":\"Once\"}", "{\"text\":\" upon é\"}", "[DONE]"), got,
                        "cuts " + java.util.Arrays.toString(c) + " (seed " + seed + ")");
            }
        }
    }
}
