package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.SseReader;
import dev.agenthub.protocol.TokenCounter;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The plain parts of the provider path: SSE reading, stop sequences, the circuit, tokens, decoders. */
class ProviderPartsTest {

  private static List<String[]> read(String stream, int cut) {
    List<String[]> events = new ArrayList<>();
    SseReader reader = new SseReader(1024, (name, data) -> events.add(new String[]{name, data}));
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i += cut) {
      reader.feed(Arrays.copyOfRange(bytes, i, Math.min(bytes.length, i + cut)));
    }
    reader.end();
    return events;
  }

  @Test
  void serverSentEventsAreReadWhereverThePiecesAreCut() {
    String stream = ": ping\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: l1\ndata: l2\n\ndata: {\"t\":\"é✓\"}\n\n";
    for (int cut = 1; cut <= stream.length(); cut++) {
      List<String[]> events = read(stream, cut);
      assertThat(events).as("cut %d", cut).hasSize(3);
      assertThat(events.get(0)).containsExactly("message_start", "{\"a\":1}");
      assertThat(events.get(1)).containsExactly(null, "l1\nl2");
      assertThat(events.get(2)[1]).isEqualTo("{\"t\":\"é✓\"}");
    }
  }

  @Test
  void anOversizedEventIsAnErrorNotAGrowingBuffer() {
    SseReader reader = new SseReader(64, (n, d) -> { });
    assertThatThrownBy(() -> reader.feed(("data: " + "x".repeat(100)).getBytes(StandardCharsets.UTF_8)))
      .isInstanceOf(SseReader.Malformed.class);
  }

  @Test
  void aStopSequenceCutAcrossPiecesIsFoundAndNeverShown() {
    StopScanner s = new StopScanner(List.of("END", "\n\n"));
    StringBuilder out = new StringBuilder();
    for (String piece : List.of("Hello wor", "ld. E", "N", "D and more")) {
      out.append(s.feed(piece));
    }
    assertThat(out.toString()).isEqualTo("Hello world. ");
    assertThat(s.stopped()).isTrue();
    assertThat(s.flush()).isEmpty();

    StopScanner none = new StopScanner(List.of("END"));
    assertThat(none.feed("the EN") + none.feed("gine") + none.flush()).isEqualTo("the ENgine");
    assertThat(none.stopped()).isFalse();
    assertThat(StopScanner.cut("a.b.c", List.of(".", "b"))).isEqualTo("a");
  }

  @Test
  void theCircuitOpensAfterFailuresInARowThenLetsOneProbeThrough() {
    CircuitBreaker c = new CircuitBreaker(new HubConfig.Circuit(3, 1000));
    long t = 0;
    c.failure(t);
    c.failure(t);
    c.success();
    c.failure(t);
    c.failure(t);
    assertThat(c.allow(t)).isTrue();
    c.failure(t);
    assertThat(c.state(t)).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(c.allow(t + 999_000_000L)).isFalse();
    long later = t + 1_000_000_000L;
    assertThat(c.allow(later)).as("the probe").isTrue();
    assertThat(c.allow(later)).as("only one probe").isFalse();
    c.failure(later);
    assertThat(c.state(later)).isEqualTo(CircuitBreaker.State.OPEN);
    long again = later + 1_000_000_000L;
    assertThat(c.allow(again)).isTrue();
    c.success();
    assertThat(c.state(again)).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(c.allow(again)).isTrue();
  }

  @Test
  void openAiModelsAreCountedWithTheirOwnTokenizer() {
    TokenCounter o200k = OpenAiModels.tokenizerOrEstimate("gpt-4o-mini");
    assertThat(o200k.count("hello world")).isEqualTo(2);
    // text that looks like a special token is ordinary text from a user
    assertThat(o200k.count("<|endoftext|>")).isGreaterThan(1);
    assertThat(OpenAiModels.tokenizer("gpt-5-mini")).isPresent();
    assertThat(OpenAiModels.tokenizer("o3")).isPresent();
    // cl100k_base counts this string in more tokens than o200k_base does
    assertThat(OpenAiModels.tokenizer("gpt-3.5-turbo").orElseThrow().count("hello world, 你好世界"))
      .isNotEqualTo(o200k.count("hello world, 你好世界"));
    assertThat(OpenAiModels.tokenizer("llama3.1:8b")).isEmpty();
    // a chat message costs its content plus framing
    assertThat(o200k.countMessages(new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello world"))))
      .isEqualTo(3 + 3 + 2);
  }

  @Test
  void aCalibratedCounterLearnsTheProvidersRatio() {
    HubConfig.Provider p = new HubConfig.Provider("local", HubConfig.ProviderType.OPENAI, "http://127.0.0.1:1/v1", true, 0,
      List.of(new HubConfig.Key("a", "PATH", null, 60, 1000)), 1000, 0);
    HubConfig.Model m = new HubConfig.Model("llama", "local", "llama3.1:8b", 0, 0, List.of());
    HubConfig config = new HubConfig(null, null, null, Map.of("local", p), Map.of("llama", m),
      List.of(), null, List.of(), null, null, "test");
    TokenCounters counters = new TokenCounters(config);
    String text = "x".repeat(400); // 100 by the plain estimate
    assertThat(counters.apply("llama").count(text)).isEqualTo(100);
    for (int i = 0; i < 200; i++) {
      long estimate = counters.apply("llama").count(text);
      counters.observe("llama", estimate, 150); // the provider always counts 150
    }
    assertThat(counters.apply("llama").count(text)).isBetween(145, 155);
  }

  @Test
  void openAiStreamsAreDecodedWithToolCallsInPiecesAndUsageAtTheEnd() {
    OpenAiClient client = new OpenAiClient(null, null, "http://127.0.0.1:1/v1");
    HttpProviderClient.Decoder d = client.decoder();
    StringBuilder text = new StringBuilder();
    for (String data : List.of(
      "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me \"}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"memory__read\",\"arguments\":\"{\\\"pa\"}}]}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"th\\\":\\\"a.md\\\"}\"}}]}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
      "{\"choices\":[],\"usage\":{\"prompt_tokens\":2000,\"completion_tokens\":90,\"prompt_tokens_details\":{\"cached_tokens\":1536},\"completion_tokens_details\":{\"reasoning_tokens\":64}}}",
      "[DONE]")) {
      d.event(null, data, text::append);
    }
    assertThat(d.done()).isTrue();
    ProviderClient.Result r = d.finish(null, text.toString());
    assertThat(r.content()).isEqualTo("Let me ");
    assertThat(r.toolCalls().getJsonObject(0).getString("name")).isEqualTo("memory.read");
    assertThat(r.toolCalls().getJsonObject(0).getJsonObject("arguments").getString("path")).isEqualTo("a.md");
    assertThat(r.finishReason()).isEqualTo("tool_calls");
    assertThat(r.usage()).isEqualTo(new ModelCall.Usage(2000, 1536, 0, 90, 64));
  }

  @Test
  void anthropicStreamsAreDecodedWithCacheUsage() {
    AnthropicClient client = new AnthropicClient(null, null, "http://127.0.0.1:1/v1");
    HttpProviderClient.Decoder d = client.decoder();
    StringBuilder text = new StringBuilder();
    d.event("message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":20,"
      + "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1800,\"output_tokens\":1}}}", text::append);
    d.event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}", text::append);
    d.event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}", text::append);
    d.event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"there\"}}", text::append);
    d.event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":42}}", text::append);
    assertThat(d.done()).isFalse();
    d.event("message_stop", "{\"type\":\"message_stop\"}", text::append);
    ProviderClient.Result r = d.finish(null, text.toString());
    assertThat(r.content()).isEqualTo("Hi there");
    assertThat(r.finishReason()).isEqualTo("length");
    assertThat(r.usage()).isEqualTo(new ModelCall.Usage(1820, 1800, 0, 42, 0));
    assertThatThrownBy(() -> d.event("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
      text::append)).isInstanceOf(HttpProviderClient.StreamError.class);
  }

  @Test
  void providerErrorsKeepTheirMessageAndParameterAndLoseAnySecret() {
    String[] e = HttpProviderClient.errorOf("{\"error\":{\"message\":\"Incorrect API key provided: sk-abcdefgh12345678 or "
      + "my-secret-value\",\"type\":\"invalid_request_error\",\"param\":\"max_tokens\",\"code\":null}}", "my-secret-value");
    assertThat(e[0]).doesNotContain("sk-abcdefgh12345678").doesNotContain("my-secret-value").contains("sk-***");
    assertThat(e[1]).isEqualTo("max_tokens");
    assertThat(HttpProviderClient.errorOf("<html>bad gateway</html>", "k")[0]).isEqualTo("provider error");
  }

  @Test
  void aCallIsPricedAtEachKindOfTokensPrice() {
    HubConfig.Model m = new HubConfig.Model("m", "p", "m", 3.00, 15.00, 0.30, 3.75, "max_tokens", List.of());
    // 1,000 plain + 2,000 read + 500 written prompt tokens, 100 output
    double cost = m.cost(new ModelCall.Usage(3500, 2000, 500, 100, 0));
    assertThat(cost).isCloseTo((1000 * 3.00 + 2000 * 0.30 + 500 * 3.75 + 100 * 15.00) / 1e6,
      org.assertj.core.data.Offset.offset(1e-15));
  }
}
