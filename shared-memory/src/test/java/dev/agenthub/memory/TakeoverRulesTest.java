package dev.agenthub.memory;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Who may take over as the memory writer, and when a copy must wait for another. */
class TakeoverRulesTest {

  private static final MarkdownStore.Position AT_40 = new MarkdownStore.Position(3, 40);

  private static JsonObject answer(String node, long epoch, long seq) {
    return new JsonObject().put("node", node).put("epoch", epoch).put("seq", seq);
  }

  @Test
  void onlyTheRecordsWriterOrAMemberThatHoldsSomethingMayTakeOver() {
    InSyncRecord record = new InSyncRecord(3, "m1", Set.of("m2"));
    assertThat(TakeoverRules.byRecord(record, "m2", AT_40)).isEmpty();
    assertThat(TakeoverRules.byRecord(record, "m1", AT_40)).isEmpty();
    assertThat(TakeoverRules.byRecord(record, "m3", AT_40)).get().asString().contains("not in the in-sync set");
    // named, but its disk came back empty: it must not write over the others
    assertThat(TakeoverRules.byRecord(record, "m2", MarkdownStore.Position.NONE)).get().asString()
      .contains("copy is empty");
  }

  @Test
  void aFurtherCopyWritesInsteadAndANewClusterNeedsEnoughAnswers() {
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 3, 40), answer("m3", 3, 12)), AT_40, 0)).isEmpty();
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 3, 41)), AT_40, 0)).get().asString()
      .contains("m2 is further");
    // a later epoch wins over a longer log of an older one
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 4, 2)), AT_40, 0)).get().asString()
      .contains("m2 is further");
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 2, 90)), AT_40, 0)).isEmpty();
    // one installing a snapshot neither counts nor compares
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 9, 9).put("installing", true)), AT_40, 0)).isEmpty();

    // no record: with 3 replicas one other must answer, with 5 two; with 2 none
    assertThat(TakeoverRules.neededWithoutRecord(2)).isZero();
    assertThat(TakeoverRules.neededWithoutRecord(3)).isEqualTo(1);
    assertThat(TakeoverRules.neededWithoutRecord(5)).isEqualTo(2);
    assertThat(TakeoverRules.byAnswers(List.of(), AT_40, 1)).get().asString().contains("needs 1 other");
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 9, 9).put("installing", true)), AT_40, 1)).isPresent();
    assertThat(TakeoverRules.byAnswers(List.of(answer("m2", 3, 40)), AT_40, 1)).isEmpty();
  }
}
