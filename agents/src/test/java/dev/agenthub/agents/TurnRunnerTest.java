package dev.agenthub.agents;

import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.Turn;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TurnRunnerTest {

  private static JsonObject m(String role, String text) {
    return new JsonObject().put("role", role).put("content", text);
  }

  @Test
  void aStatelessHistoryIsTrimmedFromTheOldestToTheBudget() {
    JsonArray dialogue = new JsonArray().add(m("user", "a".repeat(40))).add(m("assistant", "b".repeat(40)))
      .add(m("user", "c".repeat(40)));
    // 13 tokens each (10 of text, 3 of framing)
    assertThat(TurnRunner.trimmed(dialogue, 39, TokenCounter.ESTIMATE)).hasSize(3);
    JsonArray two = TurnRunner.trimmed(dialogue, 38, TokenCounter.ESTIMATE);
    assertThat(two).hasSize(2);
    assertThat(two.getJsonObject(0).getString("content")).startsWith("b");
    assertThat(TurnRunner.trimmed(dialogue, 12, TokenCounter.ESTIMATE)).isEmpty();
    // a message too big for the budget ends the history there, even if older ones would fit
    JsonArray big = new JsonArray().add(m("user", "x")).add(m("assistant", "y".repeat(400))).add(m("user", "z"));
    assertThat(TurnRunner.trimmed(big, 50, TokenCounter.ESTIMATE)).hasSize(1);
  }

  @Test
  void usageAddsUpOverTheCallsOfATurn() {
    ModelCall.Usage a = new ModelCall.Usage(100, 50, 10, 20, 5);
    ModelCall.Usage b = new ModelCall.Usage(200, 0, 0, 30, 0);
    assertThat(a.plus(b)).isEqualTo(new ModelCall.Usage(300, 50, 10, 50, 5));
    assertThat(ModelCall.Usage.fromJson(a.toJson())).isEqualTo(a);
  }

  @Test
  void aTurnRequestKeepsItsStreamStopAndConversationOnTheBus() {
    Turn.Request r = Turn.Request.of("s", "hi").idempotencyKey("k").maxTokens(50).stop(List.of("END"))
      .conversation(new JsonArray().add(m("user", "before"))).stream(new ModelCall.Stream("addr", "id-1", 0)).build();
    Turn.Request back = Turn.Request.fromJson(r.toJson());
    assertThat(back).isEqualTo(r);
    assertThat(back.stateless()).isTrue();
    assertThat(Turn.Request.fromJson(Turn.Request.of("s", "hi").build().toJson()).stateless()).isFalse();
  }
}
