package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.catena.samples.cli.CatenaLauncherIT.MODEL;
import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static dev.catena.samples.cli.OracleCommandIT.find;
import static dev.catena.samples.cli.OracleCommandIT.ints;
import static dev.catena.samples.cli.OracleCommandIT.unescape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ./catena generate --local} against {@code ./catena oracle}, as a user would compare them. */
class GenerateCommandIT {

    @Test
    void localSplitGenerationEqualsTheOracle(@TempDir Path tmp) throws Exception {
        var expected = OracleCommandIT.Expected.firstCase();
        Path ours = tmp.resolve("catena.f32");
        Path theirs = tmp.resolve("oracle.f32");
        var r = catena("generate", "--local", "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n", "64",
                "--greedy", "--json", "--split", "0:2,2:5", "--logits", ours.toString());
        assertEquals(0, r.exit(), r.err());
        String json = r.out().strip();
        assertArrayEquals(expected.tokens(), ints(find(json, "\"tokens\":\\[([^\\]]*)\\]")), json);
        assertEquals(expected.text(), unescape(find(json, "\"text\":\"((?:[^\"\\\\]|\\\\.)*)\"")));
        assertTrue(Double.parseDouble(find(json, "\"tokens_per_s\":([0-9.]+)")) > 0, json);

        var o = catena("oracle", "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n", "64",
                "--logits", theirs.toString());
        assertEquals(0, o.exit(), o.err());
        float[][] a = LogitsFile.read(ours, 512);
        float[][] b = LogitsFile.read(theirs, 512);
        assertEquals(b.length, a.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < 512; j++) {
                max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
            }
        }
        assertEquals(0.0, max, "max |logit diff| between generate --local and oracle (equal to the bit)");
    }

    @Test
    void badSplitsAndOptionsAreUsageErrors() throws Exception {
        var gap = catena("generate", "--local", "--model", MODEL.toString(), "--prompt", "x", "--split", "0:2,3:5");
        assertEquals(2, gap.exit(), gap.err());
        assertTrue(gap.err().contains("blocks [2, 3) are not covered"), gap.err());
        var outside = catena("generate", "--local", "--model", MODEL.toString(), "--prompt", "x", "--split", "0:2,2:9");
        assertEquals(2, outside.exit(), outside.err());
        assertTrue(outside.err().contains("the ranges end at 9 but the model has 5 blocks"), outside.err());
        var kv = catena("generate", "--local", "--model", MODEL.toString(), "--prompt", "x", "--kv-type", "q4");
        assertEquals(2, kv.exit(), kv.err());
        var tooLong = catena("generate", "--local", "--model", MODEL.toString(), "--prompt", "x", "--ctx", "512", "-n", "600");
        assertEquals(2, tooLong.exit(), tooLong.err());
        assertTrue(tooLong.err().contains("exceed max length 512"), tooLong.err());
    }
}
