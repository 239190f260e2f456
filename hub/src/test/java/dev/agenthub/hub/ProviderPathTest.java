package dev.agenthub.hub;

import dev.agenthub.devtools.mock.MockLlm;
import dev.agenthub.devtools.mock.MockOpenAi;
import dev.agenthub.hub.HubNode;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.models.Model;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The real provider path: one node whose agents use OpenAI- and Anthropic-shaped providers (the mock,
 * as strict as the real APIs), driven over HTTP and through the official OpenAI Java client.
 */
class ProviderPathTest {

  private static final Vertx MOCK_VERTX = Vertx.vertx();
  private static final String SECRET = "sk-path-test-0123456789";
  private static MockLlm mock;
  // a provider that takes its time: a stream cut short is cut long before it would end
  private static MockLlm slow;
  // a provider on TLS that offers HTTP/2 by ALPN, with a certificate of its own CA
  private static MockLlm secure;
  private static HubNode node;
  private static OpenAIClient client;
  private static final Path MEMORY = Fixtures.freshDir();

  @BeforeAll
  static void start() throws Exception {
    mock = new MockLlm(MOCK_VERTX, 600, 0, List.of(new MockLlm.Key(SECRET, 100_000, 100_000_000)));
    int port = mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
    slow = new MockLlm(MOCK_VERTX, 60_000, 0, List.of(new MockLlm.Key(SECRET, 100_000, 100_000_000)));
    int slowPort = slow.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
    secure = new MockLlm(MOCK_VERTX, 0, 0, List.of(new MockLlm.Key(SECRET, 100_000, 100_000_000)), true);
    int securePort = secure.listen("localhost", 0).await(30, TimeUnit.SECONDS);
    Path key = Files.createTempFile("agenthub-key", ".txt");
    Files.writeString(key, SECRET);
    Path revoked = Files.createTempFile("agenthub-key", ".txt");
    Files.writeString(revoked, "sk-revoked-9876543210");
    String persona = "You are the billing desk of a large utility. ".repeat(160);
    node = TestHub.start(HubYaml.node("pp1", "general") + HubYaml.memoryYaml(MEMORY)
      + "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\naudit: { dir: \"" + Fixtures.freshDir() + "\" }\n" + """
      providers:
        openai: { type: openai, base-url: "http://127.0.0.1:%d/v1", keys: [ { id: a, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
        claude: { type: anthropic, base-url: "http://127.0.0.1:%d/v1", keys: [ { id: a, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
        old: { type: openai, base-url: "http://127.0.0.1:%d/v1", keys: [ { id: a, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
        slow: { type: openai, base-url: "http://127.0.0.1:%d/v1", keys: [ { id: a, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
        tls: { type: openai, base-url: "https://localhost:%d/v1", ca-file: "%s",
               keys: [ { id: a, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
        mixed: { type: openai, base-url: "http://127.0.0.1:%d/v1", keys: [
          { id: revoked, secret-file: "%s", rpm: 100000, tpm: 100000000 }, { id: good, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
        dead: { type: openai, base-url: "http://127.0.0.1:1/v1", max-retries: 0, circuit: { failures: 2, open: 1h },
                keys: [ { id: a, secret-file: "%s", rpm: 100000, tpm: 100000000 } ] }
      models:
        gpt5: { provider: openai, name: gpt-5-mini, input: 0.25, output: 2.00, cached-input: 0.025 }
        mini: { provider: openai, name: gpt-4o-mini, input: 0.15, output: 0.60, cached-input: 0.075 }
        sonnet: { provider: claude, name: claude-sonnet-4-5, input: 3.00, output: 15.00, cached-input: 0.30, cache-write: 3.75 }
        legacy: { provider: old, name: gpt-5-mini, input: 0.25, output: 2.00, token-param: max_tokens }
        tortoise: { provider: slow, name: gpt-4o-mini, input: 0.15, output: 0.60 }
        private: { provider: tls, name: gpt-4o-mini, input: 0.15, output: 0.60 }
        pooled: { provider: mixed, name: gpt-4o-mini, input: 0.15, output: 0.60 }
        gone: { provider: dead, name: gpt-4o, input: 2.5, output: 10, fallbacks: [mini] }
      agents:
        - { id: support, models: { routine: gpt5 }, cache: false, limits: { max-concurrent: 1000, max-queue: 5000 } }
        - { id: billing, models: { routine: sonnet }, cache: false, persona: "%s" }
        - { id: cached, models: { routine: mini }, cache: false, persona: "%s" }
        - { id: oldie, models: { routine: legacy }, cache: false }
        - { id: fragile, models: { routine: gone }, cache: false }
        - { id: slowpoke, models: { routine: tortoise }, cache: false }
        - { id: vault, models: { routine: private }, cache: false }
        - { id: keyring, models: { routine: pooled }, cache: false }
      """.formatted(port, key, port, key, port, key, slowPort, key, securePort, secure.certificatePath(), key,
      port, revoked, key, key, persona, persona));
    client = OpenAIOkHttpClient.builder().baseUrl(node.url() + "/v1").apiKey("unused").build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close().await(1, TimeUnit.MINUTES);
    MOCK_VERTX.close().await(30, TimeUnit.SECONDS);
  }

  private static JsonObject message(String agent, JsonObject body) throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/" + agent + "/messages", body.encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  @Test
  void aGpt5ModelAnswersWithTodaysRequestShapeAndReasoningTokensArePriced() throws Exception {
    long rejectedBefore = mock.stats().getLong("rejected");
    JsonObject reply = message("support", new JsonObject().put("session", "g5").put("text", "Where is order 42?"));
    assertThat(reply.getString("reply")).contains("Where is order 42?");
    JsonObject usage = reply.getJsonObject("usage");
    assertThat(usage.getLong("reasoning_tokens")).isEqualTo(MockOpenAi.REASONING_TOKENS);
    assertThat(usage.getLong("output_tokens")).isGreaterThan(MockOpenAi.REASONING_TOKENS);
    double expected = (usage.getLong("input_tokens") * 0.25 + usage.getLong("output_tokens") * 2.00) / 1e6;
    assertThat(reply.getDouble("cost_usd")).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(mock.stats().getLong("rejected")).isEqualTo(rejectedBefore);
  }

  @Test
  void aProvidersRefusalNamesTheParameterAndNeverTheKey() throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/oldie/messages",
      new JsonObject().put("session", "old-1").put("text", "hello").encode());
    assertThat(r.statusCode()).isEqualTo(502);
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertThat(error.getString("param")).isEqualTo("max_tokens");
    assertThat(error.getString("message")).contains("max_completion_tokens").doesNotContain(SECRET);
    assertThat(error.fieldNames()).contains("message", "type", "param", "code");
  }

  @Test
  void anAnthropicModelAnswersPlainAndStreamedAndItsPromptCacheIsPriced() throws Exception {
    JsonObject first = message("billing", new JsonObject().put("session", "an-1").put("text", "What is my balance?"));
    assertThat(first.getString("reply")).contains("What is my balance?");
    // the persona is the cached prefix: written on the first turn, read on the next
    assertThat(first.getJsonObject("usage").getLong("cache_write_tokens")).isPositive();
    JsonObject second = message("billing", new JsonObject().put("session", "an-2").put("text", "And last month?"));
    JsonObject usage = second.getJsonObject("usage");
    assertThat(usage.getLong("cached_input_tokens")).isGreaterThan(1000);
    long plain = usage.getLong("input_tokens") - usage.getLong("cached_input_tokens") - usage.getLong("cache_write_tokens");
    double expected = (plain * 3.00 + usage.getLong("cached_input_tokens") * 0.30
      + usage.getLong("cache_write_tokens") * 3.75 + usage.getLong("output_tokens") * 15.00) / 1e6;
    assertThat(second.getDouble("cost_usd")).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));

    List<String> events = sse("/v1/agents/billing/messages",
      new JsonObject().put("session", "an-3").put("text", "Stream me the due date").put("stream", true));
    String text = events.stream().filter(e -> e.startsWith("event: delta"))
      .map(e -> new JsonObject(e.substring(e.indexOf("data: ") + 6)).getString("text")).reduce("", String::concat);
    String done = events.get(events.size() - 1);
    assertThat(done).startsWith("event: done");
    JsonObject doneBody = new JsonObject(done.substring(done.indexOf("data: ") + 6));
    assertThat(text).isEqualTo(doneBody.getString("reply")).contains("Stream me the due date");
    assertThat(events.stream().filter(e -> e.startsWith("event: delta")).count()).isGreaterThan(2);
    assertThat(doneBody.getJsonObject("usage").getLong("output_tokens")).isPositive();
  }

  @Test
  void openAiPromptCachingIsReportedAndPricedAtTheCachedPrice() throws Exception {
    message("cached", new JsonObject().put("session", "oc-1").put("text", "First question"));
    JsonObject reply = message("cached", new JsonObject().put("session", "oc-2").put("text", "Second question"));
    JsonObject usage = reply.getJsonObject("usage");
    assertThat(usage.getLong("cached_input_tokens")).isGreaterThanOrEqualTo(1024);
    double expected = ((usage.getLong("input_tokens") - usage.getLong("cached_input_tokens")) * 0.15
      + usage.getLong("cached_input_tokens") * 0.075 + usage.getLong("output_tokens") * 0.60) / 1e6;
    assertThat(reply.getDouble("cost_usd")).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void theOfficialClientStreamsTheFirstTokenWhileTheProviderIsStillAnswering() throws Exception {
    AtomicLong inFlightAtFirstToken = new AtomicLong(-1);
    StringBuilder streamed = new StringBuilder();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
      ChatCompletionCreateParams.builder().model("support").user("stream-1")
        .addUserMessage("Tell me about the delivery of my parcel").build())) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        chunk.choices().forEach(c -> c.delta().content().ifPresent(t -> {
          if (streamed.isEmpty()) {
            // the provider's stream must still be open: the first token did not wait for the last
            inFlightAtFirstToken.set(mock.stats().getLong("in_flight"));
          }
          streamed.append(t);
        }));
      });
    }
    assertThat(inFlightAtFirstToken.get()).isPositive();
    assertThat(chunks.size()).isGreaterThan(3);
    assertThat(streamed.toString()).contains("Tell me about the delivery of my parcel");
    ChatCompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.choices().get(0).finishReason()).hasValue(ChatCompletionChunk.Choice.FinishReason.STOP);
    assertThat(last.usage().orElseThrow().completionTokens()).isPositive();
    // the transcript has the whole answer
    String transcript = Files.readString(MEMORY.resolve("agents/support/sessions/stream-1.md"));
    assertThat(transcript).contains(streamed.toString());
  }

  @Test
  void aClientThatGoesAwayMidStreamCancelsTheProviderCall() throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + "/v1/chat/completions"))
      .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(new JsonObject()
        .put("model", "slowpoke").put("user", "gone-1").put("stream", true).put("messages", new JsonArray()
          .add(new JsonObject().put("role", "user").put("content", "a long story please about many many things"))).encode()))
      .build();
    HttpResponse<InputStream> r = TestHub.HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      byte[] first = new byte[16];
      assertThat(in.read(first)).isPositive(); // the stream has begun
    }
    // the provider would stream for a minute: its call is cut well before
    Fixtures.await("the provider call cancelled", Duration.ofSeconds(40), () -> slow.stats().getLong("cancelled") == 1);
    assertThat(slow.stats().getLong("in_flight")).isZero();
    Fixtures.await("the transcript marks the interrupted answer", Duration.ofSeconds(30), () -> {
      Path t = MEMORY.resolve("agents/slowpoke/sessions/gone-1.md");
      try {
        return Files.exists(t) && Files.readString(t).contains("[interrupted: the client closed the stream]");
      } catch (IOException e) {
        return false;
      }
    });
  }

  @Test
  void aStatelessClientSendsItsWholeHistory() {
    ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("support")
      .addSystemMessage("Answer in English.").addUserMessage("My name is Ada.").addAssistantMessage("Hello Ada.")
      .addUserMessage("What is my name?").build());
    // the sim counts the user turns it was given: the model saw the conversation
    assertThat(c.choices().get(0).message().content().orElseThrow()).contains("This is message 2");
    // and nothing was kept as a session
    try (var files = Files.list(MEMORY.resolve("agents/support/sessions"))) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("chat-"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void modelsListTheAgents() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();
    assertThat(ids).contains("support", "billing", "cached");
    assertThat(client.models().retrieve(com.openai.models.models.ModelRetrieveParams.builder().model("billing").build())
      .ownedBy()).isEqualTo("agenthub");
    assertThatThrownBy(() -> client.models().retrieve(com.openai.models.models.ModelRetrieveParams.builder()
      .model("nobody").build())).isInstanceOf(NotFoundException.class);
  }

  @Test
  void maxTokensAndStopAreHonouredOnEveryModel() throws Exception {
    for (String agent : List.of("support", "cached")) {
      // gpt-5 refuses stop: the hub applies it; gpt-4o-mini takes it
      JsonObject c = chat(new JsonObject().put("model", agent).put("user", "stop-" + agent).put("stop", new JsonArray().add("."))
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Explain the bill"))));
      String text = c.getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
      assertThat(text).as(agent).isNotEmpty().doesNotContain(".");
      assertThat(c.getJsonArray("choices").getJsonObject(0).getString("finish_reason")).isEqualTo("stop");
      JsonObject capped = chat(new JsonObject().put("model", agent).put("user", "cap-" + agent).put("max_tokens", 80)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Explain the bill"))));
      assertThat(capped.getJsonObject("usage").getLong("completion_tokens")).as(agent).isLessThanOrEqualTo(80);
    }
  }

  @Test
  void unsupportedFieldsAreRefusedByName() throws Exception {
    JsonArray hi = new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"));
    for (var c : List.of(new JsonObject().put("n", 2),
      new JsonObject().put("response_format", new JsonObject().put("type", "json_object")),
      new JsonObject().put("modalities", new JsonArray().add("text").add("audio")), new JsonObject().put("bogus", 1))) {
      String field = c.fieldNames().iterator().next();
      HttpResponse<String> r = TestHub.post(node.url() + "/v1/chat/completions",
        c.copy().put("model", "support").put("messages", hi).encode());
      assertThat(r.statusCode()).as(field).isEqualTo(400);
      assertThat(new JsonObject(r.body()).getJsonObject("error").getString("param")).isEqualTo(field);
    }
  }

  @Test
  void theClientsToolsAndToolChoiceReachEachProviderInItsOwnShape() throws Exception {
    long rejectedBefore = mock.stats().getLong("rejected");
    String ask = "/tool get_weather {\"city\":\"Paris\"}";
    JsonArray tools = new JsonArray().add(new JsonObject().put("type", "function").put("function", new JsonObject()
      .put("name", "get_weather").put("parameters", new JsonObject().put("type", "object"))));
    // cached speaks OpenAI's chat completions, billing Anthropic's messages
    for (String agent : List.of("cached", "billing")) {
      for (String session : new String[]{null, "ct-" + agent}) {
        JsonObject body = new JsonObject().put("model", agent).put("tools", tools)
          .put("tool_choice", new JsonObject().put("type", "function").put("function", new JsonObject().put("name",
            "get_weather")))
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", ask)));
        if (session != null) {
          body.put("user", session);
        }
        JsonObject choice = chat(body).getJsonArray("choices").getJsonObject(0);
        assertThat(choice.getString("finish_reason")).as(agent).isEqualTo("tool_calls");
        JsonObject called = choice.getJsonObject("message");
        JsonObject call = called.getJsonArray("tool_calls").getJsonObject(0);
        assertThat(call.getJsonObject("function").getString("name")).isEqualTo("get_weather");
        assertThat(new JsonObject(call.getJsonObject("function").getString("arguments")).getString("city")).isEqualTo("Paris");
        JsonArray followUp = body.getJsonArray("messages").copy().add(called).add(new JsonObject().put("role", "tool")
          .put("tool_call_id", call.getString("id")).put("content", "18C and sunny"));
        JsonObject answer = chat(body.copy().put("messages", followUp).put("tool_choice", "auto"));
        assertThat(answer.getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content"))
          .as(agent + " " + session).contains("Tool result: 18C and sunny");
      }
      JsonArray plain = new JsonArray().add(new JsonObject().put("role", "user").put("content", "What should I wear?"));
      JsonObject required = chat(new JsonObject().put("model", agent).put("tools", tools).put("tool_choice", "required")
        .put("messages", plain)).getJsonArray("choices").getJsonObject(0);
      assertThat(required.getString("finish_reason")).as(agent).isEqualTo("tool_calls");
      JsonObject none = chat(new JsonObject().put("model", agent).put("tools", tools).put("tool_choice", "none")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", ask))))
        .getJsonArray("choices").getJsonObject(0);
      assertThat(none.getString("finish_reason")).as(agent).isEqualTo("stop");
    }
    // the stand-ins refuse what the real APIs refuse: nothing the hub sent was refused
    assertThat(mock.stats().getLong("rejected")).isEqualTo(rejectedBefore);
  }

  @Test
  void hundredsOfCallsAreInFlightAtOnce() throws Exception {
    int n = 300;
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(TestHub.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents/support/messages"))
        .timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers.ofString(new JsonObject()
          .put("session", "many-" + i).put("text", "question " + i).encode())).build(), HttpResponse.BodyHandlers.ofString()));
    }
    for (var c : calls) {
      HttpResponse<String> r = c.get(3, TimeUnit.MINUTES);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    // far above the old fixed pool of 64 connections
    assertThat(mock.stats().getLong("max_in_flight")).isGreaterThan(150);
  }

  @Test
  void aProviderOnTlsIsSpokenToOverHttp2NegotiatedByAlpn() throws Exception {
    for (int i = 0; i < 3; i++) {
      JsonObject reply = message("vault", new JsonObject().put("session", "tls-" + i).put("text", "hello " + i));
      assertThat(reply.getString("reply")).contains("hello " + i);
    }
    JsonObject stats = secure.stats();
    assertThat(stats.getLong("ok")).isEqualTo(3);
    assertThat(stats.getLong("http2_requests")).isEqualTo(3);
  }

  @Test
  void aDeadProviderOpensItsCircuitAndCallsGoStraightToTheFallback() throws Exception {
    for (int i = 0; i < 4; i++) {
      JsonObject reply = message("fragile", new JsonObject().put("session", "cb-" + i).put("text", "hello"));
      assertThat(reply.getString("model")).isEqualTo("mini");
    }
    String metrics = TestHub.get(node.url() + "/metrics").body();
    assertThat(metrics).contains("agenthub_provider_circuit{provider=\"dead\"} 1.0");
    assertThat(metrics).contains("agenthub_fallbacks_total");
    Fixtures.await("the dashboard shows the open circuit", Duration.ofSeconds(30), () -> "open".equals(
      dashboard().getJsonObject("providers").getJsonObject("dead").getString("circuit")));
  }

  @Test
  void aRefusedKeyLeavesThePoolUntilAnAdminPutsItBack() throws Exception {
    for (int i = 0; i < 3; i++) {
      message("keyring", new JsonObject().put("session", "kr-" + i).put("text", "hello"));
    }
    Fixtures.await("the dashboard shows the key out of the pool", Duration.ofSeconds(30), () -> "disabled".equals(
      dashboard().getJsonObject("providers").getJsonObject("mixed").getJsonObject("keys").getString("revoked")));
    HttpResponse<String> enabled = TestHub.post(node.url() + "/v1/keys/mixed/revoked/enable", "");
    assertThat(enabled.statusCode()).as(enabled.body()).isEqualTo(200);
    Fixtures.await("the key back in the pool", Duration.ofSeconds(30), () -> "ok".equals(
      dashboard().getJsonObject("providers").getJsonObject("mixed").getJsonObject("keys").getString("revoked")));
    assertThat(TestHub.post(node.url() + "/v1/keys/mixed/nope/enable", "").statusCode()).isEqualTo(404);
  }

  /** The dashboard's next picture of the cluster (its first server-sent event). */
  private static JsonObject dashboard() {
    try {
      HttpResponse<InputStream> r = TestHub.HTTP.send(HttpRequest.newBuilder(URI.create(node.url() + "/ui/events"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofInputStream());
      try (var in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        String line;
        String event = "message";
        while ((line = in.readLine()) != null) {
          if (line.startsWith("event: ")) {
            event = line.substring(7);
          } else if (line.startsWith("data: ") && event.equals("message")) {
            return new JsonObject(line.substring(6));
          } else if (line.isEmpty()) {
            event = "message"; // the history comes first, then a picture a second
          }
        }
      }
      throw new IllegalStateException("no event");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonObject chat(JsonObject body) throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/chat/completions", body.encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  /** The server-sent events of one POST, each as its raw text. */
  private static List<String> sse(String path, JsonObject body) throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + path, body.encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
    List<String> events = new ArrayList<>();
    for (String e : r.body().split("\n\n")) {
      if (!e.isBlank()) {
        events.add(e);
      }
    }
    return events;
  }
}
