package dev.catena.bench.attack;

import dev.catena.bench.attack.AttackSuite.Row;
import dev.catena.bench.attack.AttackSuite.Scale;

import java.util.List;
import java.util.Locale;

/** The attack suite's verdicts as a Markdown table and as one JSON object. */
final class AttackReport {
    private AttackReport() {
    }

    static String table(List<Row> rows, Scale scale, double limit) {
        var sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Attack suite, scale %s: %d servers, %d tokens x %d runs per phase, latency limit %.2fx, "
                + "RSS limit %d MB (KV %d + inbound %d + 300), attackers at nice %d%n%n", scale.name(), scale.servers(), scale.tokens(),
                scale.runs(), limit, scale.kvBudgetMb() + scale.inboundBudgetMb() + 300, scale.kvBudgetMb(), scale.inboundBudgetMb(),
                AttackSuite.attackerNice()));
        sb.append("| attack | conns/server | tokens equal | p50 unattacked ms (before / after) | p50 attacked ms | ratio | peak RSS MB "
                + "| sessions / KV B after | verdict | attacker saw |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %.3f (%.3f / %.3f) | %.3f | %.2f | %d | %d / %d | %s | %s |%n", r.attack(),
                    r.perServer(), r.tokensEqual() ? "yes" : "NO", r.p50Base(), r.p50Before(), r.p50After(), r.p50Attacked(), r.ratio(),
                    r.rssPeak() / AttackSuite.MB,
                    r.sessionsAfter(), r.kvAfter(), r.passed() ? "pass" : "FAIL: " + String.join("; ", r.failures()).replace('\n', ' '),
                    r.findings()));
        }
        return sb.toString();
    }

    static String json(List<Row> rows, Scale scale, long seed) {
        var sb = new StringBuilder("{\"scale\":\"" + scale.name() + "\",\"seed\":" + seed + ",\"attacker_nice\":" + AttackSuite.attackerNice()
                + ",\"passed\":"
                + rows.stream().allMatch(Row::passed) + ",\"attacks\":[");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            if (i > 0) sb.append(',');
            sb.append(String.format(Locale.ROOT, "{\"attack\":\"%s\",\"passed\":%s,\"tokens_equal\":%s,\"p50_unattacked_ms\":%.4f,"
                    + "\"p50_before_ms\":%.4f,\"p50_after_ms\":%.4f,\"p50_attacked_ms\":%.4f,\"ratio\":%.4f,\"peak_rss_bytes\":%d,\"rss_limit_bytes\":%d,\"sessions_after\":%d,"
                    + "\"kv_bytes_after\":%d}", r.attack(), r.passed(), r.tokensEqual(), r.p50Base(), r.p50Before(), r.p50After(),
                    r.p50Attacked(), r.ratio(), r.rssPeak(), r.rssLimit(), r.sessionsAfter(), r.kvAfter()));
        }
        return sb.append("]}").toString();
    }
}
