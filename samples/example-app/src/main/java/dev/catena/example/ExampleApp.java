package dev.catena.example;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.ChatSession;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.LocalSwarm;
import dev.catena.core.Mode;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;

import java.nio.file.Path;

/**
 * A three-server swarm in this process, a streamed generation and a two-turn chat, through Catena's
 * public API alone. {@code java --enable-native-access=ALL-UNNAMED ... ExampleApp MODEL.gguf}
 */
public final class ExampleApp {
    private ExampleApp() {
    }

    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "models/stories260K.gguf");
        try (LocalSwarm swarm = Catena.localSwarm(model).servers(3).mode(Mode.PUSH).start();
             CatenaClient client = swarm.client()) {
            System.out.println("servers: " + swarm.addresses());

            var request = GenerationRequest.builder("Once upon a time").maxTokens(48).greedy().build();
            System.out.print("Once upon a time");
            try (TokenStream stream = client.stream(request)) {
                for (Token t : stream) {
                    System.out.print(t.text());
                    System.out.flush();
                }
                System.out.println();
                var stats = stream.result().stats();
                System.out.printf("%d tokens, %.1f tokens/s through %s%n", stats.generatedTokens(), stats.tokensPerSecond(),
                        stream.route());
            }

            try (ChatSession chat = client.openSession(256)) {
                Generation first = chat.generate(GenerationRequest.builder("Lily and Tom went to the zoo.").maxTokens(24).greedy().build());
                Generation second = chat.generate(GenerationRequest.builder(" Then it started to rain.").maxTokens(24).greedy().build());
                System.out.println("turn 1: " + first.text());
                System.out.println("turn 2: " + second.text() + " (" + chat.length() + " tokens kept on the servers)");
            }
        }
    }
}
