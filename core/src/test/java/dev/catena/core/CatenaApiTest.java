package dev.catena.core;

import dev.catena.testing.CountingBackend;
import dev.catena.core.directory.FileDirectory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The public API over the TinyStories model: a local generator and in-process swarms give the
 * reference tokens of {@code models/stories260K.expected.json}, streams equal generations and free
 * every server session when closed early, chat sessions keep their KV between turns.
 */
class CatenaApiTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf")
            .toAbsolutePath().normalize();
    static final String PROMPT = "Once upon a time";
    static final int N = 64;
    static List<Integer> expectedTokens;
    static String expectedText;
    static LocalGenerator local;
    static Generation reference;

    static GenerationRequest greedy(int n) {
        return GenerationRequest.builder(PROMPT).maxTokens(n).greedy().ignoreEos().keepLogits().build();
    }

    @BeforeAll
    static void reference() throws Exception {
        String json = Files.readString(MODEL.resolveSibling("stories260K.expected.json"));
        var ids = Pattern.compile("\"generated_token_ids\":\\s*\\[([^]]*)]").matcher(json);
        assertTrue(ids.find());
        expectedTokens = Stream.of(ids.group(1).split(",")).map(String::trim).map(Integer::valueOf).toList();
        var text = Pattern.compile("\"continuation_text\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        assertTrue(text.find());
        expectedText = text.group(1).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
        assertEquals(N, expectedTokens.size());
        local = Catena.local(MODEL).build();
        reference = local.generate(greedy(N));
    }

    @AfterAll
    static void close() {
        if (local != null) local.close();
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(condition.getAsBoolean(), what);
    }

    static void assertAllFree(LocalSwarm swarm) throws InterruptedException {
        for (CatenaServer s : swarm.servers()) {
            await(() -> s.openSessions() == 0 && s.kvBytesReserved() == 0,
                    s + ": " + s.openSessions() + " sessions, " + s.kvBytesReserved() + " KV bytes left");
        }
    }

    static void assertSameLogits(Generation expected, Generation actual) {
        assertEquals(expected.logits().size(), actual.logits().size());
        for (int i = 0; i < expected.logits().size(); i++) {
            assertArrayEquals(expected.logits().get(i), actual.logits().get(i), "logits of token " + i);
        }
    }

    @Test
    void localGivesTheReferenceTokensAndText() {
        assertEquals(expectedTokens, reference.tokens());
        assertEquals(expectedText, reference.text());
        assertEquals(FinishReason.LENGTH, reference.finishReason());
        assertEquals(N, reference.logits().size());
        assertEquals(List.of(1, 403, 407, 261, 378), reference.promptTokens());
        assertEquals(N, reference.stats().generatedTokens());
        assertEquals(N - 1, reference.stats().stepMillis().size());
        try (Generator split = Catena.local(MODEL).split("0:2,2:5").build()) {
            var g = split.generate(greedy(N));
            assertEquals(expectedTokens, g.tokens());
            assertSameLogits(reference, g);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void swarmEqualsLocalAndStreamEqualsGenerate(Mode mode) throws Exception {
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(3).replicas(1).mode(mode).start();
             CatenaClient client = swarm.client()) {
            assertEquals(3, swarm.addresses().size());
            Generation g = client.generate(greedy(N));
            assertEquals(expectedTokens, g.tokens());
            assertEquals(expectedText, g.text());
            assertSameLogits(reference, g);
            assertAllFree(swarm);

            List<Integer> streamed = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            try (TokenStream s = client.stream(greedy(N))) {
                for (Token t : s) {
                    streamed.add(t.id());
                    text.append(t.text());
                    assertEquals(3, s.route().size(), "the route while streaming");
                }
                assertEquals(g.tokens(), s.result().tokens());
                assertEquals(FinishReason.LENGTH, s.result().finishReason());
            }
            assertEquals(g.tokens(), streamed);
            assertEquals(g.text(), text.toString());
            assertAllFree(swarm);
            long pushes = swarm.servers().stream().mapToLong(s -> s.counters().get("pushes_received")).sum();
            assertTrue(mode == Mode.RELAY ? pushes == 0 : pushes > 0, mode + ": " + pushes + " pushes");
            if (mode == Mode.RING) { // every step after each prompt went around the ring and was verified after the fact
                assertEquals(2 * (N - 1), client.status().counters().ringVerified());
                assertEquals(0, client.status().counters().ringRewound());
            }
        }
    }

    /** Ring mode in a chat: the first turn goes around the ring, later ones run in push mode; both equal one generation. */
    @Test
    void ringChatTurnsEqualOneGeneration() throws Exception {
        int n = 12;
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(3).mode(Mode.RING).start(); CatenaClient client = swarm.client();
             ChatSession chat = client.openSession(256)) {
            var turn1 = chat.generate(GenerationRequest.builder(PROMPT).maxTokens(n).greedy().ignoreEos().build());
            assertEquals(expectedTokens.subList(0, n), turn1.tokens());
            assertEquals(n - 1, client.status().counters().ringVerified(), "turn 1 went around the ring");
            var turn2 = chat.generate(GenerationRequest.builder(" Then Lily saw a dog.").maxTokens(n).greedy().ignoreEos().build());
            List<Integer> whole = new ArrayList<>(turn1.promptTokens());
            whole.addAll(turn1.tokens());
            whole.addAll(turn2.promptTokens());
            var once = local.generate(GenerationRequest.builder(whole).maxTokens(n).greedy().ignoreEos().build());
            assertEquals(once.tokens(), turn2.tokens(), "turn 2 equals one generation over the whole conversation");
            assertEquals(n - 1, client.status().counters().ringVerified(), "turn 2 ran in push mode");
            assertEquals(0, client.status().counters().ringRewound());
            chat.close();
            assertAllFree(swarm);
        }
    }

    /** Ring mode: a stop sequence ends the generation while the servers may be up to the window ahead; all is freed. */
    @Test
    void ringStopsAtAStopSequenceAndFreesEverything() throws Exception {
        var request = GenerationRequest.builder(PROMPT).maxTokens(N).greedy().stop("Lily", "zebra").build();
        var expected = local.generate(request);
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(3).mode(Mode.RING).start(); CatenaClient client = swarm.client()) {
            var g = client.generate(request);
            assertEquals(FinishReason.STOP, g.finishReason());
            assertEquals(expected.tokens(), g.tokens());
            assertEquals(expected.text(), g.text());
            assertAllFree(swarm);
        }
    }

    @Test
    void streamsOfOneClientInterleaveAndLocalGenerationsRunInParallel() throws Exception {
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(2).start(); CatenaClient client = swarm.client();
             TokenStream a = client.stream(greedy(24)); TokenStream b = client.stream(greedy(24))) {
            var ia = a.iterator();
            var ib = b.iterator();
            List<Integer> ta = new ArrayList<>();
            List<Integer> tb = new ArrayList<>();
            while (ia.hasNext() | ib.hasNext()) {
                if (ia.hasNext()) ta.add(ia.next().id());
                if (ib.hasNext()) tb.add(ib.next().id());
            }
            assertEquals(expectedTokens.subList(0, 24), ta);
            assertEquals(expectedTokens.subList(0, 24), tb);
        }
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var f1 = pool.submit(() -> local.generate(greedy(N)).tokens());
            var f2 = pool.submit(() -> local.generate(greedy(N)).tokens());
            assertEquals(expectedTokens, f1.get());
            assertEquals(expectedTokens, f2.get());
        }
    }

    @Test
    void closingAStreamEarlyCancelsAndFreesEveryServerSession() throws Exception {
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(3).start(); CatenaClient client = swarm.client()) {
            List<Integer> read = new ArrayList<>();
            try (TokenStream s = client.stream(greedy(N))) {
                for (Token t : s) {
                    read.add(t.id());
                    if (read.size() == 10) break;
                }
                for (CatenaServer server : swarm.servers()) {
                    assertEquals(1, server.openSessions(), server + " serves the stream");
                    assertTrue(server.kvBytesReserved() > 0);
                }
                assertThrows(IllegalStateException.class, s::result);
            }
            assertEquals(expectedTokens.subList(0, 10), read);
            assertAllFree(swarm);
            // Closing the client closes what it left open: a chat session and a stream.
            var chat = client.openSession(128);
            chat.generate(GenerationRequest.builder(PROMPT).maxTokens(4).greedy().build());
            var stream = client.stream(greedy(N));
            stream.iterator().next();
            for (CatenaServer server : swarm.servers()) assertEquals(2, server.openSessions(), server + ": the chat's and the stream's");
            client.close();
            assertAllFree(swarm);
            assertThrows(IllegalStateException.class, () -> client.generate(greedy(4)), "a closed client");
            long steps = swarm.servers().getFirst().counters().get("client_steps");
            Thread.sleep(100);
            assertEquals(steps, swarm.servers().getFirst().counters().get("client_steps"), "no step after the close");
        }
    }

    @Test
    void chatTurnsKeepTheKvAndSendOnlyNewTokens() throws Exception {
        int n = 16;
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(3).mode(Mode.RELAY).start(); CatenaClient client = swarm.client();
             ChatSession chat = client.openSession(256)) {
            var turn1 = chat.generate(GenerationRequest.builder(PROMPT).maxTokens(n).greedy().ignoreEos().build());
            assertEquals(expectedTokens.subList(0, n), turn1.tokens());
            CatenaServer first = swarm.servers().getFirst();
            long bytesBefore = first.counters().get("bytes_client_to_server");
            long stepsBefore = first.counters().get("client_steps");
            var turn2 = chat.generate(GenerationRequest.builder(" Then Lily saw a dog.").maxTokens(n).greedy().ignoreEos().build());
            long bytes = first.counters().get("bytes_client_to_server") - bytesBefore;
            assertEquals(n, first.counters().get("client_steps") - stepsBefore, "one step for the turn's prompt, one per later token");
            assertNotEquals(1, turn2.promptTokens().getFirst(), "no BOS in a later turn");
            // Hidden states of 64 floats: the new tokens (the previous turn's last one, the turn's prompt) and n - 1 decode steps.
            long payload = (1L + turn2.promptTokens().size() + n - 1) * 64 * 4;
            long history = (long) (turn1.promptTokens().size() + n) * 64 * 4;
            assertTrue(bytes >= payload && bytes < payload + history, "turn 2 sent " + bytes + " bytes; its new tokens are "
                    + payload + " bytes, the history " + history);
            assertEquals(turn1.promptTokens().size() + turn2.promptTokens().size() + 2 * n, chat.length());

            List<Integer> whole = new ArrayList<>(turn1.promptTokens());
            whole.addAll(turn1.tokens());
            whole.addAll(turn2.promptTokens());
            var once = local.generate(GenerationRequest.builder(whole).maxTokens(n).greedy().ignoreEos().build());
            assertEquals(once.tokens(), turn2.tokens(), "turn 2 equals one generation over the whole conversation");

            var tooLong = GenerationRequest.builder(" And then?").maxTokens(250).greedy().build();
            var e = assertThrows(IllegalArgumentException.class, () -> chat.generate(tooLong));
            assertTrue(e.getMessage().contains("exceed max length 256 (the chat session's)"), e.getMessage());
            var turn3 = chat.generate(GenerationRequest.builder(" The end.").maxTokens(4).greedy().ignoreEos().build());
            assertEquals(4, turn3.tokens().size(), "the session is still usable");
            for (CatenaServer s : swarm.servers()) assertEquals(1, s.openSessions(), s + " keeps the conversation's session");
            chat.close();
            assertAllFree(swarm);
        }
    }

    @Test
    void localChatEqualsOneGeneration() {
        try (ChatSession chat = local.openSession(128)) {
            var turn1 = chat.generate(GenerationRequest.builder(PROMPT).maxTokens(8).greedy().ignoreEos().build());
            var turn2 = chat.generate(GenerationRequest.builder(" Lily was sad.").maxTokens(8).greedy().ignoreEos().build());
            List<Integer> whole = new ArrayList<>(turn1.promptTokens());
            whole.addAll(turn1.tokens());
            whole.addAll(turn2.promptTokens());
            assertEquals(local.generate(GenerationRequest.builder(whole).maxTokens(8).greedy().ignoreEos().build()).tokens(),
                    turn2.tokens());
        }
    }

    @Test
    void stopSequencesCutTheTextAndEndTheGeneration() {
        var g = local.generate(GenerationRequest.builder(PROMPT).maxTokens(N).greedy().stop("Lily", "zebra").build());
        assertEquals(FinishReason.STOP, g.finishReason());
        assertEquals(", there was a little girl named ", g.text());
        assertEquals(expectedTokens.subList(0, g.tokens().size()), g.tokens());
        assertTrue(g.tokens().size() < 12, g.tokens().toString());
        StringBuilder text = new StringBuilder();
        try (TokenStream s = local.stream(GenerationRequest.builder(PROMPT).maxTokens(N).greedy().stop("Lily").build())) {
            s.forEach(t -> text.append(t.text()));
            assertEquals(g.tokens(), s.result().tokens());
        }
        assertEquals(g.text(), text.toString());
        var newline = local.generate(GenerationRequest.builder(PROMPT).maxTokens(N).greedy().stop("\n").build());
        assertEquals(expectedText.substring(0, expectedText.indexOf('\n')), newline.text());
        // A stop sequence over several tokens: the stream holds back its start until it is sure, and never shows it.
        var request = GenerationRequest.builder(PROMPT).maxTokens(N).greedy().stop("zebra", "high.\nLily's").build();
        var cut = local.generate(request);
        assertEquals(expectedText.substring(0, expectedText.indexOf("high.\nLily's")), cut.text());
        StringBuilder streamed = new StringBuilder();
        try (TokenStream s = local.stream(request)) {
            for (Token t : s) {
                streamed.append(t.text());
                assertTrue(cut.text().startsWith(streamed.toString()), streamed.toString());
            }
            assertEquals(cut.tokens(), s.result().tokens());
            assertEquals(FinishReason.STOP, s.result().finishReason());
        }
        assertEquals(cut.text(), streamed.toString());
    }

    /** The counting model continues t with t + 10 and ends at token 99: prompt 9 gives 19, 29, ..., 89, then end of text. */
    @Test
    void endOfTextIsStopAndMaxTokensIsLength() {
        try (Generator counting = Catena.local(Path.of("counting.gguf")).backend(new dev.catena.testing.CountingBackend(10)).build()) {
            var g = counting.generate(GenerationRequest.builder(9).maxTokens(20).greedy().keepLogits().build());
            assertEquals(List.of(19, 29, 39, 49, 59, 69, 79, 89), g.tokens());
            assertEquals(FinishReason.STOP, g.finishReason());
            assertEquals(8, g.logits().size(), "no row for the end of text");
            assertEquals(" 19 29 39 49 59 69 79 89", g.text());
            var exact = counting.generate(GenerationRequest.builder(9).maxTokens(10).greedy().ignoreEos().build());
            assertEquals(List.of(19, 29, 39, 49, 59, 69, 79, 89, 99, 9), exact.tokens());
            assertEquals(FinishReason.LENGTH, exact.finishReason());
            var shorter = counting.generate(GenerationRequest.builder(9).maxTokens(3).greedy().build());
            assertEquals(FinishReason.LENGTH, shorter.finishReason());
            assertEquals(3, shorter.tokens().size());
        }
    }

    @Test
    void seededSamplingIsTheSameLocallyAndOnASwarm() {
        var request = GenerationRequest.builder(PROMPT).maxTokens(48).temperature(1.0f).topK(40).topP(0.95f).minP(0.02f)
                .repeatPenalty(1.1f).seed(1234).ignoreEos().build();
        var here = local.generate(request);
        assertNotEquals(expectedTokens.subList(0, 48), here.tokens(), "sampled, not greedy");
        assertEquals(here.tokens(), local.generate(request).tokens(), "the same seed, the same tokens");
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(2).start(); CatenaClient client = swarm.client()) {
            assertEquals(here.tokens(), client.generate(request).tokens());
        }
    }

    @Test
    void badInputIsRefusedClearlyAndLeaksNothing() throws Exception {
        var e = assertThrows(IllegalArgumentException.class, () -> GenerationRequest.builder(PROMPT).maxTokens(0).build());
        assertTrue(e.getMessage().contains("maxTokens"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GenerationRequest.builder(PROMPT).topP(0).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationRequest.builder(PROMPT).stop("").build());
        assertThrows(IllegalArgumentException.class, () -> GenerationRequest.builder(new int[0]));
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(2).replicas(2).start(); CatenaClient client = swarm.client()) {
            String longPrompt = String.join(" ", java.util.Collections.nCopies(300, "Once upon a time"));
            var tooLong = assertThrows(IllegalArgumentException.class,
                    () -> client.generate(GenerationRequest.builder(longPrompt).maxTokens(8).build()));
            assertTrue(tooLong.getMessage().contains("exceed max length 512 (the context)"), tooLong.getMessage());
            assertThrows(IllegalArgumentException.class, () -> client.stream(GenerationRequest.builder(PROMPT).maxTokens(600).build()));
            var badId = assertThrows(IllegalArgumentException.class, () -> client.generate(GenerationRequest.builder(1, 99999).build()));
            assertTrue(badId.getMessage().contains("99999"), badId.getMessage());
            assertThrows(IllegalArgumentException.class, () -> client.openSession(0));
            for (CatenaServer s : swarm.servers()) {
                assertEquals(0, s.counters().get("client_steps"), s + " saw no step");
                assertEquals(0, s.openSessions());
                assertEquals(0, s.kvBytesReserved());
            }
            assertEquals(4, swarm.servers().size());
            // One replica stopped: the client routes around it.
            swarm.stop(swarm.addresses().getFirst());
            assertEquals(expectedTokens.subList(0, 8), client.generate(greedy(8)).tokens());
            assertThrows(IllegalArgumentException.class, () -> swarm.stop("127.0.0.1:1"));
            assertAllFree(swarm);
        }
        assertThrows(IllegalArgumentException.class, () -> Catena.local(MODEL).split("0:2,3:5").build());
        assertThrows(IllegalArgumentException.class, () -> Catena.localSwarm(MODEL).servers(6).start());
    }

    @Test
    void serversInAFileDirectoryServeAClientAndWithdrawAtClose(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("directory.txt");
        URI uri = file.toUri();
        var directory = new FileDirectory(file);
        try (CatenaServer a = Catena.server(MODEL).blocks(0, 3).listen("127.0.0.1", 0).directory(uri).start();
             CatenaServer b = Catena.server(MODEL).blocks(3, 5).directory(file).announceEvery(java.time.Duration.ofMillis(100)).start()) {
            assertEquals(java.util.Set.of(a.address(), b.address()),
                    java.util.Set.copyOf(directory.servers(Catena.modelId(MODEL)).stream().map(r -> r.address()).toList()));
            try (CatenaClient client = Catena.client(MODEL).directory(uri).mode(Mode.PUSH).build()) {
                assertEquals(expectedTokens, client.generate(greedy(N)).tokens());
            }
            try (CatenaClient client = Catena.client(MODEL).directory(URI.create(file.toString())).build()) {
                assertEquals(expectedTokens.subList(0, 8), client.generate(greedy(8)).tokens(), "a plain path names the file too");
            }
            await(() -> directory.servers(Catena.modelId(MODEL)).stream().anyMatch(r -> r.address().equals(b.address()) && r.throughput() > 0),
                    "b's record is refreshed with its measured throughput");
            a.close();
            assertEquals(List.of(b.address()), directory.servers(Catena.modelId(MODEL)).stream().map(r -> r.address()).toList());
        }
        assertEquals(List.of(), directory.servers(Catena.modelId(MODEL)));
        var e = assertThrows(IllegalArgumentException.class, () -> Catena.server(MODEL).directory(URI.create("http://example.com/d")));
        assertTrue(e.getMessage().contains("http://example.com/d"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Catena.client(MODEL).directory(URI.create("dht://x")));
    }

    @Test
    void halfPrecisionWireStillGivesTokens() {
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(2).wire(WireFormat.BF16).start(); CatenaClient client = swarm.client()) {
            var g = client.generate(greedy(16));
            assertEquals(16, g.tokens().size());
            assertEquals(FinishReason.LENGTH, g.finishReason());
        }
    }
}
