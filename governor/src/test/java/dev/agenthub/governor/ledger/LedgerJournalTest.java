package dev.agenthub.governor.ledger;

import dev.agenthub.testing.Fixtures;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The ledger's journals on real files: a file per month, old months dropped, every node's read back. */
class LedgerJournalTest {

  private static String line(String month, String agent, double usd) {
    return new JsonObject().put("month", month).put("agent", agent).put("model", "m").put("usd", usd).encode();
  }

  @Test
  void journalsRollByMonthKeepTheirRetentionAndAreReadBackPerNode() throws Exception {
    Path dir = Fixtures.freshDir();
    // an old month past the retention, one inside it, a journal of the layout before monthly files,
    // and another node's journal with a torn last line
    Files.writeString(dir.resolve("n1.2025-01.jsonl"), line("2025-01", "a", 1) + "\n");
    Files.writeString(dir.resolve("n1.2026-10.jsonl"), line("2026-10", "a", 2) + "\n");
    Files.writeString(dir.resolve("n1.jsonl"), line("2026-12", "a", 3) + "\n" + line("2026-11", "a", 4) + "\n");
    Files.writeString(dir.resolve("n-2.b.2026-12.jsonl"), line("2026-12", "b", 5) + "\n{\"month\":\"2026-");
    try (LedgerJournal journal = new LedgerJournal(dir, "n1", 3)) {
      journal.append("2026-12", line("2026-12", "a", 6));
      journal.force();
      assertThat(dir.resolve("n1.2025-01.jsonl")).doesNotExist();
      assertThat(dir.resolve("n1.2026-10.jsonl")).exists();
      Map<String, List<JsonObject>> read = journal.read("2026-12");
      assertThat(read.get("n1")).extracting(e -> e.getDouble("usd")).containsExactlyInAnyOrder(3.0, 6.0);
      assertThat(read.get("n-2.b")).extracting(e -> e.getDouble("usd")).containsExactly(5.0);
      // the next month opens its own file, and the oldest month kept moves on
      journal.append("2027-01", line("2027-01", "a", 7));
    }
    assertThat(Files.readString(dir.resolve("n1.2027-01.jsonl"))).contains("\"usd\":7.0");
    // three months kept: 2026-11 to 2027-01
    assertThat(dir.resolve("n1.2026-10.jsonl")).doesNotExist();
    assertThat(Files.readString(dir.resolve("n1.2026-12.jsonl"))).contains("\"usd\":6.0");
  }
}
