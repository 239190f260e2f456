package dev.agenthub.governor;


import dev.agenthub.protocol.Priority;

import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GovernorPartsTest {

  @Test
  void aBucketAdmitsItsBurstThenItsRate() {
    long t = 0;
    TokenBucket b = new TokenBucket(5, 5, t);
    for (int i = 0; i < 5; i++) {
      assertThat(b.tryTake(1, t)).isTrue();
    }
    assertThat(b.tryTake(1, t)).isFalse();
    assertThat(b.nanosUntil(1, t)).isEqualTo(200_000_000L);
    assertThat(b.tryTake(1, t + 200_000_000L)).isTrue();
    // a request bigger than the bucket is admitted only from a full bucket, and leaves a debt
    TokenBucket tokens = new TokenBucket(100, 100, t);
    assertThat(tokens.tryTake(250, t)).isTrue();
    assertThat(tokens.nanosUntil(1, t)).isEqualTo(1_510_000_000L);
  }

  @Test
  void priorityFirstThenRoundRobinBetweenAgents() {
    FairQueue<String> q = new FairQueue<>();
    q.add("flood", Priority.INTERACTIVE, "f1");
    q.add("flood", Priority.INTERACTIVE, "f2");
    q.add("flood", Priority.INTERACTIVE, "f3");
    q.add("quiet", Priority.INTERACTIVE, "q1");
    q.add("pulse", Priority.HEARTBEAT, "h1");
    q.add("quiet", Priority.BATCH, "b1");
    List<String> order = new ArrayList<>();
    while (q.size() > 0) {
      order.add(q.poll());
    }
    assertThat(order).containsExactly("f1", "q1", "f2", "f3", "h1", "b1");
  }

  @Test
  void aHeavierAgentIsServedMoreInARowButNeverStarvesTheOthers() {
    FairQueue<String> q = new FairQueue<>(agent -> agent.equals("big") ? 3 : 1);
    for (int i = 1; i <= 6; i++) {
      q.add("big", Priority.INTERACTIVE, "b" + i);
    }
    q.add("small", Priority.INTERACTIVE, "s1");
    q.add("small", Priority.INTERACTIVE, "s2");
    List<String> order = new ArrayList<>();
    while (q.size() > 0) {
      order.add(q.poll());
    }
    assertThat(order).containsExactly("b1", "b2", "b3", "s1", "b4", "b5", "b6", "s2");
  }

  @Test
  void providerTimesAndRetryHints() {
    assertThat(ProviderLane.parseDurationMs("1s")).isEqualTo(1000);
    assertThat(ProviderLane.parseDurationMs("250ms")).isEqualTo(250);
    assertThat(ProviderLane.parseDurationMs("6m0s")).isEqualTo(360_000);
    assertThat(ProviderLane.parseDurationMs("1.5s")).isEqualTo(1500);
    assertThat(ProviderLane.retryAfterMs(MultiMap.caseInsensitiveMultiMap().add("Retry-After", "2"), 7)).isEqualTo(2000);
    assertThat(ProviderLane.retryAfterMs(MultiMap.caseInsensitiveMultiMap().add("retry-after-ms", "120"), 7)).isEqualTo(120);
    assertThat(ProviderLane.retryAfterMs(MultiMap.caseInsensitiveMultiMap(), 7)).isEqualTo(7);
    for (int n = 0; n < 12; n++) {
      assertThat(ProviderLane.backoffMs(n)).isBetween(1L, 8_000L);
    }
  }

  @Test
  void anthropicMessagesAreConvertedBothWays() {
    JsonArray messages = new JsonArray()
      .add(new JsonObject().put("role", "system").put("content", "be brief"))
      .add(new JsonObject().put("role", "user").put("content", "time?"))
      .add(new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", new JsonArray().add(
        new JsonObject().put("id", "t1").put("type", "function").put("function",
          new JsonObject().put("name", "time.now").put("arguments", "{}")))))
      .add(new JsonObject().put("role", "tool").put("tool_call_id", "t1").put("content", "noon"));
    JsonArray tools = new JsonArray().add(new JsonObject().put("type", "function").put("function",
      new JsonObject().put("name", "time.now").put("description", "d").put("parameters", new JsonObject())));
    JsonObject req = AnthropicClient.request("claude", messages, tools, 100);
    // the system prompt is the long stable prefix: one text block, marked for the prompt cache
    assertThat(req.getJsonArray("system").getJsonObject(0).getString("text")).isEqualTo("be brief");
    assertThat(req.getJsonArray("system").getJsonObject(0).getJsonObject("cache_control").getString("type"))
      .isEqualTo("ephemeral");
    assertThat(req.getJsonArray("messages")).hasSize(3);
    assertThat(req.getJsonArray("messages").getJsonObject(1).getJsonArray("content").getJsonObject(0)
      .getString("name")).isEqualTo("time__now");
    assertThat(req.getJsonArray("messages").getJsonObject(2).getJsonArray("content").getJsonObject(0)
      .getString("type")).isEqualTo("tool_result");
    assertThat(req.getJsonArray("tools").getJsonObject(0).getString("name")).isEqualTo("time__now");

    ProviderClient.Result r = new AnthropicClient(null, null, "http://127.0.0.1:1/v1").parse(null, new JsonObject()
      .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", "let me check"))
        .add(new JsonObject().put("type", "tool_use").put("id", "u1").put("name", "memory__read")
          .put("input", new JsonObject().put("path", "MEMORY.md"))))
      .put("usage", new JsonObject().put("input_tokens", 12).put("output_tokens", 7)
        .put("cache_read_input_tokens", 3000).put("cache_creation_input_tokens", 100))
      .put("stop_reason", "tool_use"));
    assertThat(r.content()).isEqualTo("let me check");
    assertThat(r.toolCalls().getJsonObject(0).getString("name")).isEqualTo("memory.read");
    // all prompt tokens, of which the cache read and written ones are priced apart
    assertThat(r.usage().input()).isEqualTo(3112);
    assertThat(r.usage().cachedInput()).isEqualTo(3000);
    assertThat(r.usage().cacheWrite()).isEqualTo(100);
    assertThat(r.finishReason()).isEqualTo("tool_calls");
  }
}
