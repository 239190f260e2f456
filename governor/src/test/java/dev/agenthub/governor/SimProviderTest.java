package dev.agenthub.governor;


import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SimProviderTest {

  private static JsonArray prompt(String user) {
    return new JsonArray()
      .add(new JsonObject().put("role", "system").put("content", "You are a test agent."))
      .add(new JsonObject().put("role", "user").put("content", user));
  }

  private final SimProvider sim = new SimProvider();

  @Test
  void theSamePromptGivesTheSameReply() {
    var a = sim.complete("m", prompt("What are your opening hours?"), 1024);
    var b = sim.complete("m", prompt("What are your opening hours?"), 1024);
    assertThat(a).isEqualTo(b);
  }

  @Test
  void theReplyIsDerivedFromThePrompt() {
    var a = sim.complete("m", prompt("What are your opening hours?"), 1024);
    var b = sim.complete("m", prompt("Where is my parcel?"), 1024);
    assertThat(a.content()).contains("What are your opening hours?");
    assertThat(b.content()).contains("Where is my parcel?");
    assertThat(a.content()).isNotEqualTo(b.content());
  }

  @Test
  void usageCountsAboutFourCharactersAToken() {
    String user = "x".repeat(4000);
    var answer = sim.complete("m", prompt(user), 1024);
    // 1000 tokens of user text + the system prompt + per-message framing
    assertThat(answer.inputTokens()).isBetween(1000L, 1030L);
    assertThat(answer.outputTokens()).isEqualTo((answer.content().length() + 3) / 4);
  }

  @Test
  void outputIsCappedByMaxTokens() {
    var answer = sim.complete("m", prompt("tell me everything about everything at great length please"), 5);
    assertThat(answer.content().length()).isLessThanOrEqualTo(20);
    assertThat(answer.outputTokens()).isLessThanOrEqualTo(5);
  }
}
