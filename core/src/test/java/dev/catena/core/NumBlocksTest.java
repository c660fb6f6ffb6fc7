package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.catena.core.CatenaApiTest.MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Servers started with a block count choose their blocks, cover the model, and move to cover blocks that lost their servers. */
class NumBlocksTest {

    static GenerationRequest greedy(int n) {
        return GenerationRequest.builder("Once upon a time").maxTokens(n).greedy().ignoreEos().build();
    }

    @Test
    void serversChooseTheirBlocksAndMoveToCoverLostOnesWithoutDroppingASession() throws Exception {
        URI dir = URI.create("mem:num-blocks-" + System.nanoTime());
        List<Integer> local;
        try (var g = Catena.local(MODEL).build()) {
            local = g.generate(greedy(16)).tokens();
        }
        try (Directory view = Catena.directory(dir);
             CatenaServer a = Catena.server(MODEL).numBlocks(3).directory(dir).start();
             CatenaServer b = Catena.server(MODEL).numBlocks(3).directory(dir).start()) {
            assertEquals(new BlockRange(0, 3), a.blocks());
            assertEquals(new BlockRange(2, 5), b.blocks(), "the second fills the blocks the first left");
            CatenaServer c = Catena.server(MODEL).numBlocks(2).directory(dir).announceEvery(Duration.ofMillis(50))
                    .rebalanceEvery(Duration.ofMillis(100)).start();
            try (c; CatenaClient client = Catena.client(MODEL).directory(dir).build()) {
                assertEquals(local, client.generate(greedy(16)).tokens());
                BlockRange before = c.blocks();
                try (var chat = client.openSession(64)) {
                    chat.generate(greedy(4)); // a live session, possibly on c
                    b.close(); // blocks 3 and 4 lose their only server
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (c.blocks().end() < 5 && System.nanoTime() < deadline) Thread.sleep(20);
                    assertTrue(c.blocks().end() == 5, "c moved from " + before + " to cover blocks 3 and 4, now " + c.blocks());
                }
                String model = Catena.modelId(MODEL);
                Set<String> spans = view.servers(model).stream().map(r -> r.span().toString()).collect(Collectors.toSet());
                assertEquals(Set.of("0:3", c.blocks().toString()), spans, "the old record was withdrawn");
                assertEquals(local, client.generate(greedy(16)).tokens(), "through the moved server");
            }
        }
    }

    @Test
    void aGenerationOutlivesTheOnlyServerOfSomeBlocksWhileAnotherMovesToThem() throws Exception {
        URI dir = URI.create("mem:num-blocks-live-" + System.nanoTime());
        List<Integer> local;
        try (var g = Catena.local(MODEL).build()) {
            local = g.generate(greedy(32)).tokens();
        }
        try (CatenaServer a = Catena.server(MODEL).numBlocks(3).directory(dir).start();
             CatenaServer b = Catena.server(MODEL).numBlocks(3).directory(dir).start();
             CatenaServer c = Catena.server(MODEL).numBlocks(2).directory(dir).announceEvery(Duration.ofMillis(50))
                     .rebalanceEvery(Duration.ofMillis(200)).start();
             CatenaClient client = Catena.client(MODEL).directory(dir).awaitCoverage(Duration.ofSeconds(10)).build()) {
            assertEquals(new BlockRange(2, 5), b.blocks());
            List<Integer> tokens = new java.util.ArrayList<>();
            try (var stream = client.stream(greedy(32))) {
                var it = stream.iterator();
                while (it.hasNext()) {
                    tokens.add(it.next().id());
                    if (tokens.size() == 8) b.close(); // the only server of blocks 3 and 4, mid-generation
                }
            }
            assertEquals(local, tokens, "the generation waited for c to move, replayed its history there, and went on");
            assertTrue(c.blocks().end() == 5, "c moved to the lost blocks: " + c.blocks());
        }
    }

    @Test
    void ofTwoServersThatSeeTheSameGapOnlyOneMoves() throws Exception {
        URI dir = URI.create("mem:num-blocks-race-" + System.nanoTime());
        Duration often = Duration.ofMillis(10);
        try (CatenaServer a = Catena.server(MODEL).numBlocks(3).directory(dir).announceEvery(often).rebalanceEvery(often).start();
             CatenaServer b = Catena.server(MODEL).numBlocks(3).directory(dir).start();
             CatenaServer c = Catena.server(MODEL).numBlocks(3).directory(dir).announceEvery(often).rebalanceEvery(often).start()) {
            assertEquals(List.of(new BlockRange(0, 3), new BlockRange(2, 5), new BlockRange(0, 3)), List.of(a.blocks(), b.blocks(), c.blocks()));
            b.close(); // a and c both see blocks 3 and 4 uncovered, checking every 10-15 ms, each loading for longer
            long until = System.nanoTime() + 2_000_000_000L;
            int bothMoved = 0;
            while (System.nanoTime() < until) {
                if (a.blocks().end() == 5 && c.blocks().end() == 5) bothMoved++;
                Thread.sleep(1);
            }
            assertEquals(0, bothMoved, "both moved, leaving blocks 0 and 1 to nobody, seen in that many polls");
            assertEquals(Set.of(new BlockRange(0, 3), new BlockRange(2, 5)), Set.of(a.blocks(), c.blocks()), "one moved, the other stayed");
        }
    }
}
