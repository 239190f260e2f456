package dev.agenthub.hub;

import dev.agenthub.devtools.mock.MockLlm;
import dev.agenthub.hub.HubNode;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The governor against the mock LLM: a real HTTP server enforcing real per-key limits. */
class GovernorTest {

  private final Vertx mockVertx = Vertx.vertx();
  private HubNode node;

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      node.close().await(1, TimeUnit.MINUTES);
    }
    mockVertx.close().await(30, TimeUnit.SECONDS);
  }

  private int mock(MockLlm mock) throws Exception {
    return mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
  }

  private static String secretFile(String secret) throws Exception {
    Path f = Files.createTempFile("agenthub-key", ".txt");
    Files.writeString(f, secret + "\n");
    return f.toString();
  }

  private final Path memory = Fixtures.freshDir();

  private String config(int mockPort, String keys, String extraModels) {
    return HubYaml.node("gov1", "general") + HubYaml.memoryYaml(memory)
      + "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\n" + "audit: { dir: \"" + Fixtures.freshDir() + "\" }\n" + """
      providers:
        mock: { type: openai, base-url: "http://127.0.0.1:%d/v1", local: true, max-retries: 8, keys: [ %s ] }
        dead: { type: openai, base-url: "http://127.0.0.1:1/v1", max-retries: 1, keys: [ { id: d, secret-env: PATH } ] }
      models:
        small: { provider: mock, name: gpt-4o-mini, input: 0.15, output: 0.60 }
        big: { provider: dead, name: gpt-4o, input: 2.50, output: 10.00, fallbacks: [small] }
      %s
      agents:
        - { id: support, models: { routine: small, complex: big }, cache: false }
        - { id: ops, models: { routine: small, complex: big }, cache: false }
        - { id: billing, models: { routine: small, complex: big } }
        - { id: nightly, models: { routine: small }, cache: false, heartbeat: { every: 1s, batch: true } }
      """.formatted(mockPort, keys, extraModels);
  }

  private List<HttpResponse<String>> load(int n) throws Exception {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    String[] agents = {"support", "ops"};
    for (int i = 0; i < n; i++) {
      String agent = agents[i % 2];
      calls.add(TestHub.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents/" + agent + "/messages"))
          .timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers.ofString(
            new JsonObject().put("session", "load-" + i).put("text", "question number " + i).encode())).build(),
        HttpResponse.BodyHandlers.ofString()));
    }
    List<HttpResponse<String>> out = new ArrayList<>();
    for (var c : calls) {
      out.add(c.get(3, TimeUnit.MINUTES));
    }
    return out;
  }

  @Test
  void matchingLimitsMeanNo429sAndEveryMessageAnswered() throws Exception {
    MockLlm mock = new MockLlm(mockVertx, 5, 0, List.of(
      new MockLlm.Key("sk-test-one", 300, 2_000_000), new MockLlm.Key("sk-test-two", 300, 2_000_000),
      new MockLlm.Key("sk-test-three", 300, 2_000_000)));
    int port = mock(mock);
    node = TestHub.start(config(port, """
      { id: one, secret-file: "%s", rpm: 300, tpm: 2000000 },
      { id: two, secret-file: "%s", rpm: 300, tpm: 2000000 },
      { id: three, secret-file: "%s", rpm: 300, tpm: 2000000 }""".formatted(secretFile("sk-test-one"),
      secretFile("sk-test-two"), secretFile("sk-test-three")), ""));
    List<HttpResponse<String>> replies = load(120);
    assertThat(replies).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
    JsonObject stats = mock.stats();
    assertThat(stats.getLong("rate_limited")).isZero();
    assertThat(stats.getLong("ok")).isEqualTo(120);
    // every key carried part of the load
    stats.getJsonObject("by_key").forEach(e -> assertThat(((JsonObject) e.getValue()).getLong("ok")).isPositive());
    String metrics = TestHub.get(node.url() + "/metrics").body();
    assertThat(metrics).contains("agenthub_key_available{key=\"mock/one\"}").contains("agenthub_ratelimit_wait_seconds");
    for (String secret : List.of("sk-test-one", "sk-test-two", "sk-test-three")) {
      assertThat(metrics).doesNotContain(secret);
      assertThat(TestHub.get(node.url() + "/v1/agents").body()).doesNotContain(secret);
    }
  }

  @Test
  void aProviderStricterThanConfiguredIsAbsorbedByBackoff() throws Exception {
    MockLlm mock = new MockLlm(mockVertx, 5, 0, List.of(new MockLlm.Key("sk-strict", 120, 2_000_000)));
    int port = mock(mock);
    node = TestHub.start(config(port, "{ id: strict, secret-file: \"%s\", rpm: 600, tpm: 2000000 }"
      .formatted(secretFile("sk-strict")), ""));
    List<HttpResponse<String>> replies = load(24);
    assertThat(replies).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
    assertThat(mock.stats().getLong("rate_limited")).isPositive();
    assertThat(mock.stats().getLong("ok")).isEqualTo(24);
  }

  @Test
  void aRefusedKeyLeavesThePoolAndTheOthersCarryOn() throws Exception {
    MockLlm mock = new MockLlm(mockVertx, 0, 0, List.of(new MockLlm.Key("sk-good", 6000, 10_000_000)));
    int port = mock(mock);
    node = TestHub.start(config(port, """
      { id: revoked, secret-file: "%s", rpm: 6000, tpm: 10000000 },
      { id: good, secret-file: "%s", rpm: 6000, tpm: 10000000 }""".formatted(secretFile("sk-revoked-123456"),
      secretFile("sk-good")), ""));
    assertThat(load(20)).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
    assertThat(TestHub.get(node.url() + "/metrics").body()).contains("agenthub_key_available{key=\"mock/revoked\"} 0.0");
  }

  @Test
  void aBatchMessageGoesThroughTheBatchApiAtHalfPriceAndCallsBack() throws Exception {
    MockLlm mock = new MockLlm(mockVertx, 300, 0, List.of(new MockLlm.Key("sk-batch", 6000, 10_000_000)));
    int port = mock(mock);
    List<JsonObject> callbacks = new CopyOnWriteArrayList<>();
    HttpServer hook = mockVertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      callbacks.add(b.toJsonObject());
      req.response().end();
    })).listen(0, "127.0.0.1").await(30, TimeUnit.SECONDS);
    node = TestHub.start(config(port, "{ id: b, secret-file: \"%s\", rpm: 6000, tpm: 10000000 }"
      .formatted(secretFile("sk-batch")), "batch: { callback-hosts: [\"127.0.0.1\"] }"));
    // callbacks go to the listed hosts only, refused at submission otherwise
    HttpResponse<String> elsewhere = TestHub.post(node.url() + "/v1/agents/support/messages", new JsonObject()
      .put("session", "nightly").put("text", "summarize").put("priority", "batch")
      .put("callback_url", "http://localhost:" + hook.actualPort() + "/done").encode());
    assertThat(elsewhere.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(elsewhere.body()).getJsonObject("error").getString("param")).isEqualTo("callback_url");
    HttpResponse<String> accepted = TestHub.post(node.url() + "/v1/agents/support/messages", new JsonObject()
      .put("session", "nightly").put("text", "summarize the day").put("priority", "batch")
      .put("callback_url", "http://127.0.0.1:" + hook.actualPort() + "/done").encode());
    assertThat(accepted.statusCode()).isEqualTo(202);
    String batchId = new JsonObject(accepted.body()).getString("batch_id");
    assertThat(batchId).startsWith("batch-");
    Fixtures.await("the callback", Duration.ofMinutes(1), () -> !callbacks.isEmpty());
    JsonObject done = callbacks.get(0);
    assertThat(done.getString("batch_id")).isEqualTo(batchId);
    assertThat(done.getString("reply")).contains("summarize the day");
    JsonObject usage = done.getJsonObject("usage");
    double full = (usage.getLong("input_tokens") * 0.15 + usage.getLong("output_tokens") * 0.60) / 1e6;
    assertThat(done.getDouble("cost_usd")).isCloseTo(full / 2, org.assertj.core.data.Offset.offset(1e-15));
    assertThat(mock.stats().getLong("batches")).isPositive();
    assertThat(new JsonObject(TestHub.get(node.url() + "/v1/spend").body()).getDouble("month_to_date_usd"))
      .isCloseTo(full / 2, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(TestHub.post(node.url() + "/v1/agents/support/messages",
      "{\"session\":\"s\",\"text\":\"x\",\"callback_url\":\"ftp://x\",\"priority\":\"batch\"}").statusCode())
      .isEqualTo(400);
  }

  @Test
  void heartbeatsConfiguredForBatchGoThroughTheBatchApi() throws Exception {
    MockLlm mock = new MockLlm(mockVertx, 100, 0, List.of(new MockLlm.Key("sk-hb", 6000, 10_000_000)));
    int port = mock(mock);
    Files.createDirectories(memory.resolve("agents/nightly"));
    Files.writeString(memory.resolve("agents/nightly/HEARTBEAT.md"), "- [ ] summarize the night's tickets\n");
    node = TestHub.start(config(port, "{ id: h, secret-file: \"%s\", rpm: 6000, tpm: 10000000 }"
      .formatted(secretFile("sk-hb")), ""));
    Path daily = memory.resolve("agents/nightly/daily/" + LocalDate.now(ZoneOffset.UTC) + ".md");
    Fixtures.await("a heartbeat answered through the batch API", Duration.ofMinutes(1), () -> {
      try {
        return mock.stats().getLong("batches") > 0 && Files.exists(daily)
          && Files.readString(daily).contains("summarize the night's tickets");
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void anUnreachableModelFallsBackAndRoutineRepliesComeFromTheCache() throws Exception {
    MockLlm mock = new MockLlm(mockVertx, 0, 0, List.of(new MockLlm.Key("sk-c", 6000, 10_000_000)));
    int port = mock(mock);
    node = TestHub.start(config(port, "{ id: c, secret-file: \"%s\", rpm: 6000, tpm: 10000000 }"
      .formatted(secretFile("sk-c")), ""));
    HttpResponse<String> complex = TestHub.post(node.url() + "/v1/agents/support/messages",
      "{\"session\":\"fb\",\"text\":\"/complex\\nplease\"}");
    assertThat(complex.statusCode()).as(complex.body()).isEqualTo(200);
    assertThat(new JsonObject(complex.body()).getString("model")).isEqualTo("small");
    assertThat(TestHub.get(node.url() + "/metrics").body())
      .contains("agenthub_fallbacks_total{fallback=\"small\",model=\"big\"} 1.0");

    JsonObject first = new JsonObject(TestHub.post(node.url() + "/v1/agents/billing/messages",
      "{\"session\":\"c1\",\"text\":\"what is my balance?\"}").body());
    long before = mock.stats().getLong("ok");
    JsonObject second = new JsonObject(TestHub.post(node.url() + "/v1/agents/billing/messages",
      "{\"session\":\"c2\",\"text\":\"what is my balance?\"}").body());
    assertThat(first.getBoolean("cached")).isFalse();
    assertThat(second.getBoolean("cached")).isTrue();
    assertThat(second.getDouble("cost_usd")).isZero();
    assertThat(second.getString("reply")).isEqualTo(first.getString("reply"));
    assertThat(mock.stats().getLong("ok")).isEqualTo(before);
    assertThat(TestHub.get(node.url() + "/metrics").body()).contains("agenthub_cache_hits_total{model=\"small\"} 1.0");
  }
}
