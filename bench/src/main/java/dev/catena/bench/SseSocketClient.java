package dev.catena.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A lean HTTP/1.1 client for one SSE stream at a time, on the caller's thread: one blocking socket kept alive between
 * requests (TCP_NODELAY), the request written in one piece, the chunked response decoded and split into {@code data:}
 * events as its bytes arrive. No selector, executor or queue stands between the socket and the reader, so what a
 * measurement through it shows is the server's cost, not a client's thread hand-offs (the JDK's {@code HttpClient}
 * passes each piece through its selector thread and a worker before the caller sees it).
 */
final class SseSocketClient implements AutoCloseable {
    private final InetSocketAddress address;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    SseSocketClient(InetSocketAddress address) {
        this.address = address;
    }

    /**
     * POSTs {@code json} to {@code path} and hands each event's data (without {@code "data: "}) to {@code onData}, in
     * order, until the response ends (the {@code [DONE]} event included).
     *
     * @throws IllegalStateException when the answer is not a 200 event stream
     */
    void post(String path, String json, Consumer<String> onData) throws IOException {
        if (socket == null || socket.isClosed()) connect();
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: " + address.getHostString() + ":" + address.getPort()
                + "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: " + body.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] request = new byte[h.length + body.length];
        System.arraycopy(h, 0, request, 0, h.length);
        System.arraycopy(body, 0, request, h.length, body.length);
        out.write(request);
        out.flush();
        String status = line();
        boolean chunked = false;
        boolean close = false;
        for (String header = line(); !header.isEmpty(); header = line()) {
            String lower = header.toLowerCase(Locale.ROOT);
            if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
            if (lower.startsWith("connection:") && lower.contains("close")) close = true;
        }
        if (!status.startsWith("HTTP/1.1 200") || !chunked) {
            close();
            throw new IllegalStateException("POST " + path + " answered '" + status + "' (chunked: " + chunked + ")");
        }
        var event = new ByteArrayOutputStream(); // a line that spans chunks
        for (int size = chunkSize(); size > 0; size = chunkSize()) {
            byte[] data = in.readNBytes(size); // a chunk at once: one copy, not a locked read per byte
            if (data.length < size) throw new IOException("the server closed the connection mid-response");
            int start = 0;
            for (int i = 0; i < size; i++) {
                if (data[i] != '\n') continue;
                String text;
                if (event.size() == 0) {
                    text = new String(data, start, i - start, StandardCharsets.UTF_8);
                } else {
                    event.write(data, start, i - start);
                    text = event.toString(StandardCharsets.UTF_8);
                    event.reset();
                }
                if (text.endsWith("\r")) text = text.substring(0, text.length() - 1); // a CRLF line end
                if (text.startsWith("data: ")) onData.accept(text.substring(6));
                start = i + 1;
            }
            event.write(data, start, size - start);
            line(); // the CRLF after a chunk's data
        }
        while (!line().isEmpty()) { } // trailers, then the blank line that ends the response
        if (close) close();
    }

    /** The next chunk's size line, in hex (extensions ignored). */
    private int chunkSize() throws IOException {
        return Integer.parseInt(line().split(";")[0].trim(), 16);
    }

    private void connect() throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(address, 10_000);
        socket.setSoTimeout(600_000);
        in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        out = socket.getOutputStream();
    }

    private int read() throws IOException {
        int b = in.read();
        if (b < 0) throw new IOException("the server closed the connection mid-response");
        return b;
    }

    /** One CRLF-terminated line, without its end. */
    private String line() throws IOException {
        var s = new StringBuilder();
        for (int b = read(); b != '\n'; b = read()) {
            if (b != '\r') s.append((char) b);
        }
        return s.toString();
    }

    @Override
    public void close() throws IOException {
        if (socket != null) socket.close();
        socket = null;
    }
}
