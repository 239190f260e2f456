package dev.agenthub.agents;

import io.vertx.core.json.JsonArray;
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
}
