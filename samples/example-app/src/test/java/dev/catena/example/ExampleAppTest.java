package dev.catena.example;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.CatenaServer;
import dev.catena.core.ChatSession;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import dev.catena.core.LocalSwarm;
import dev.catena.core.Mode;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11's acceptance, from outside Catena's build: an app that depends on the installed artifacts
 * (catena-core at compile scope, the backend and transport at runtime) and uses only the public API.
 */
class ExampleAppTest {
    static final Path MODELS = Path.of(System.getProperty("catena.models.dir", "../../models"));
    static final Path MODEL = MODELS.resolve("stories260K.gguf");
    static final String PROMPT = "Once upon a time";

    static LocalSwarm swarm;
    static CatenaClient client;

    @BeforeAll
    static void start() {
        swarm = Catena.localSwarm(MODEL).servers(3).replicas(1).mode(Mode.PUSH).start();
        client = swarm.client();
    }

    @AfterAll
    static void stop() {
        client.close();
        swarm.close();
    }

    /** llama.cpp's recorded greedy ids for the first case of stories260K.expected.json. */
    static List<Integer> referenceIds() throws Exception {
        String json = Files.readString(MODELS.resolve("stories260K.expected.json"));
        var m = Pattern.compile("\"generated_token_ids\"\\s*:\\s*\\[([^\\]]*)\\]").matcher(json);
        assertTrue(m.find(), "generated ids in " + json);
        return Arrays.stream(m.group(1).split(",")).map(String::strip).map(Integer::valueOf).toList();
    }

    static GenerationRequest greedy(String prompt, int n) {
        return GenerationRequest.builder(prompt).maxTokens(n).greedy().build();
    }

    @Test
    void greedyThroughThreeServersEqualsTheLocalRunAndTheStreamYieldsTheSameTokens() throws Exception {
        Generation swarmRun = client.generate(greedy(PROMPT, 64));
        try (Generator local = Catena.local(MODEL).build()) {
            assertEquals(local.generate(greedy(PROMPT, 64)).tokens(), swarmRun.tokens());
        }
        assertEquals(referenceIds(), swarmRun.tokens());

        List<Integer> streamed = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        try (TokenStream s = client.stream(greedy(PROMPT, 64))) {
            for (Token t : s) {
                streamed.add(t.id());
                text.append(t.text());
            }
        }
        assertEquals(swarmRun.tokens(), streamed);
        assertEquals(swarmRun.text(), text.toString());
    }

    @Test
    void closingAStreamAfterTenTokensFreesEveryServerSession() throws Exception {
        int seen = 0;
        try (TokenStream s = client.stream(greedy(PROMPT, 64))) {
            for (Token ignored : s) {
                if (++seen == 10) break;
            }
        }
        assertEquals(10, seen);
        long deadline = System.nanoTime() + 5_000_000_000L; // the servers free sessions as the close messages arrive
        while (System.nanoTime() < deadline && swarm.servers().stream().anyMatch(s -> s.openSessions() > 0 || s.kvBytesReserved() > 0)) {
            Thread.sleep(20);
        }
        for (CatenaServer server : swarm.servers()) {
            assertEquals(0, server.openSessions(), server.address());
            assertEquals(0, server.kvBytesReserved(), server.address());
        }
    }

    @Test
    void aSecondChatTurnContinuesTheFirstAndSendsOnlyItsNewTokens() {
        String turn2 = " Then it started to rain.";
        CatenaServer first = swarm.servers().getFirst();
        List<Integer> turn1Prompt;
        List<Integer> turn1Out;
        List<Integer> turn2Out;
        long turn2Bytes;
        try (ChatSession chat = client.openSession(256)) {
            Generation g1 = chat.generate(greedy("Lily and Tom went to the zoo.", 16));
            turn1Prompt = g1.promptTokens();
            turn1Out = g1.tokens();
            long before = first.counters().get("bytes_client_to_server");
            turn2Out = chat.generate(greedy(turn2, 16)).tokens();
            turn2Bytes = first.counters().get("bytes_client_to_server") - before;
        }
        // One generation over both turns: BOS + turn 1, turn 1's output, then turn 2 (no BOS).
        List<Integer> all = new ArrayList<>(turn1Prompt);
        all.addAll(turn1Out);
        all.addAll(client.tokenize(turn2, false));
        try (Generator local = Catena.local(MODEL).build()) {
            assertEquals(local.generate(GenerationRequest.builder(all).maxTokens(16).greedy().build()).tokens(), turn2Out);
        }
        // The same continuation asked in one go sends the whole history again; turn 2 sent all but the
        // history's rows (n_embd 64 in f32: 256 bytes a row; the last turn-1 token is fed with turn 2).
        long before = first.counters().get("bytes_client_to_server");
        assertEquals(turn2Out, client.generate(GenerationRequest.builder(all).maxTokens(16).greedy().build()).tokens());
        long oneShotBytes = first.counters().get("bytes_client_to_server") - before;
        long historyRows = turn1Prompt.size() + turn1Out.size();
        assertTrue(oneShotBytes - turn2Bytes >= (historyRows - 2) * 256,
                "turn 2 sent " + turn2Bytes + " bytes, the one-shot request " + oneShotBytes + " for " + historyRows + " rows of history");
    }
}
