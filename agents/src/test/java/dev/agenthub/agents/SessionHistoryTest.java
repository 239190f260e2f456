package dev.agenthub.agents;

import dev.agenthub.protocol.TokenCounter;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SessionHistoryTest {

  @Test
  void keepsTheNewestMessagesThatFitTheBudget() {
    SessionHistory history = new SessionHistory(10, 100);
    history.add("s", "user", "a".repeat(40));      // 10 tokens + 3 of framing
    history.add("s", "assistant", "b".repeat(40)); // 13
    history.add("s", "user", "c".repeat(40));      // 13
    JsonArray recent = history.recent("s", 30, TokenCounter.ESTIMATE);
    assertThat(recent).hasSize(2);
    assertThat(recent.getJsonObject(0).getString("content")).startsWith("b");
    assertThat(recent.getJsonObject(1).getString("content")).startsWith("c");
    assertThat(history.recentWithTokens("s", 30, TokenCounter.ESTIMATE).tokens()).isEqualTo(26);
  }

  @Test
  void aMessageIsCountedOnceByTheSameCounter() {
    SessionHistory history = new SessionHistory(10, 100);
    history.add("s", "user", "a".repeat(400));
    int[] calls = {0};
    TokenCounter counting = text -> {
      calls[0]++;
      return TokenCounter.ESTIMATE.count(text);
    };
    for (int i = 0; i < 5; i++) {
      assertThat(history.recentWithTokens("s", 1000, counting).tokens()).isEqualTo(103);
    }
    assertThat(calls[0]).isEqualTo(1);
  }

  @Test
  void leastRecentlyUsedSessionsLeave() {
    SessionHistory history = new SessionHistory(2, 10);
    history.add("a", "user", "x");
    history.add("b", "user", "x");
    history.recent("a", 100, TokenCounter.ESTIMATE);
    history.add("c", "user", "x");
    assertThat(history.sessions()).isEqualTo(2);
    assertThat(history.recent("b", 100, TokenCounter.ESTIMATE)).isEmpty();
    assertThat(history.recent("a", 100, TokenCounter.ESTIMATE)).hasSize(1);
  }

  @Test
  void aDanglingTurnIsTakenBackOutOfTheHistory() {
    SessionHistory history = new SessionHistory(10, 100);
    history.put("s", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "earlier"))
      .add(new JsonObject().put("role", "assistant").put("content", "reply"))
      .add(new JsonObject().put("role", "user").put("content", "charge once")));
    assertThat(history.takeDangling("s", "charge once")).isNull();
    assertThat(history.recent("s", 1000, TokenCounter.ESTIMATE)).hasSize(2);
    // its answer was written before the node died: it is the reply
    history.add("s", "user", "again");
    history.add("s", "assistant", "done");
    assertThat(history.takeDangling("s", "again")).isEqualTo("done");
    assertThat(history.recent("s", 1000, TokenCounter.ESTIMATE)).hasSize(2);
    assertThat(history.takeDangling("s", "unrelated")).isNull();
    assertThat(history.recent("s", 1000, TokenCounter.ESTIMATE)).hasSize(2);
  }

  @Test
  void aDanglingQuestionIsRecognisedAnsweredOrNot() {
    SessionHistory history = new SessionHistory(10, 100);
    assertThat(history.endsWithQuestion("s", "where is it?")).isFalse();
    history.add("s", "user", "where is it?");
    assertThat(history.endsWithQuestion("s", "where is it?")).isTrue();
    assertThat(history.endsWithQuestion("s", "something else")).isFalse();
    history.add("s", "assistant", "on its way");
    assertThat(history.endsWithQuestion("s", "where is it?")).isTrue();
    history.add("s", "user", "thanks");
    assertThat(history.endsWithQuestion("s", "where is it?")).isFalse();
    // a claim goes with the session and leaves with it
    history.put("t", new JsonArray(), "7.1");
    assertThat(history.claim("t")).isEqualTo("7.1");
    history.forget("t");
    assertThat(history.claim("t")).isNull();
    assertThat(history.has("t")).isFalse();
  }
}
