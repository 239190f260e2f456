package dev.agenthub.hub.telemetry;

import dev.agenthub.devtools.mock.MockLlm;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One trace from the client to the provider: a client's {@code traceparent} enters at one node, the
 * turn runs on another (an event-bus hop across the cluster), and the provider's request carries the
 * same trace id; both nodes export their spans to an OTLP/HTTP collector.
 */
class TracingTest {

  private final Vertx side = Vertx.vertx();

  @AfterEach
  void stop() throws Exception {
    side.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void aClientsTraceReachesTheProviderThroughTwoNodesAndTheCollector() throws Exception {
    MockLlm mock = new MockLlm(side, 20, 0, List.of());
    int mockPort = mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
    // the collector: OTLP/HTTP protobuf bodies, kept raw
    List<Buffer> exported = new CopyOnWriteArrayList<>();
    HttpServer collector = side.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      if (req.path().equals("/v1/traces")) {
        exported.add(body);
      }
      req.response().putHeader("Content-Type", "application/x-protobuf").end();
    })).listen(0, "127.0.0.1").await(30, TimeUnit.SECONDS);
    Path key = Files.createTempFile("agenthub-key", ".txt");
    Files.writeString(key, "sk-trace\n");
    String cluster = "trace-" + UUID.randomUUID();
    String shared = HubYaml.clusterYaml(cluster, Fixtures.randomBasePort()) + HubYaml.memoryYaml(Fixtures.freshDir()) + """
      telemetry: { otlp-endpoint: "http://127.0.0.1:%d" }
      providers:
        mock: { type: openai, base-url: "http://127.0.0.1:%d/v1", local: true, keys: [ { id: k, secret-file: "%s" } ] }
      models:
        small: { provider: mock, name: gpt-4o-mini, input: 0.15, output: 0.60 }
      agents:
        - { id: support, roles: [worker], models: { routine: small, complex: small }, cache: false }
      """.formatted(collector.actualPort(), mockPort, key);
    String ledger = "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\naudit: { dir: \"" + Fixtures.freshDir() + "\" }\n";
    HubNode edge = TestHub.start(HubYaml.node("tr-edge", "edge") + ledger + shared);
    HubNode worker = null;
    try {
      worker = TestHub.start(HubYaml.node("tr-worker", "worker") + ledger + shared);
      String traceId = HexFormat.of().formatHex(UUID.randomUUID().toString().replace("-", "").substring(0, 16)
        .getBytes(StandardCharsets.US_ASCII));
      String traceparent = "00-" + traceId + "-00f067aa0ba902b7-01";
      Fixtures.await("the edge node reaches the agent on the worker", Duration.ofSeconds(60), () -> {
        try {
          HttpResponse<String> r = TestHub.HTTP.send(HttpRequest.newBuilder(URI.create(edge.url()
              + "/v1/agents/support/messages")).timeout(Duration.ofSeconds(30)).header("traceparent", traceparent)
            .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("session", "t1").put("text", "hello")
              .encode())).build(), HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() != 200) {
            return false;
          }
          // the response names the client's trace
          assertThat(r.headers().firstValue("x-trace-id")).hasValue(traceId);
          assertThat(r.headers().firstValue("traceresponse").orElseThrow()).startsWith("00-" + traceId + "-");
          assertThat(new JsonObject(r.body()).getString("node")).isNotEqualTo("tr-edge");
          return true;
        } catch (Exception e) {
          return false;
        }
      });
      // the provider's request carries a traceparent of the same trace, with a span of the hub's own
      assertThat(mock.traceparents()).anySatisfy(tp -> {
        assertThat(tp).startsWith("00-" + traceId + "-");
        assertThat(tp).doesNotContain("00f067aa0ba902b7");
      });
      // both nodes send their spans of that trace to the collector
      byte[] rawId = HexFormat.of().parseHex(traceId);
      Fixtures.await("both nodes export the trace", Duration.ofSeconds(60), () -> {
        boolean fromEdge = false;
        boolean fromWorker = false;
        for (Buffer b : exported) {
          String s = new String(b.getBytes(), StandardCharsets.ISO_8859_1);
          if (s.contains(new String(rawId, StandardCharsets.ISO_8859_1))) {
            fromEdge |= s.contains("tr-edge");
            fromWorker |= s.contains("tr-worker");
          }
        }
        return fromEdge && fromWorker;
      });
      // the OpenAI-compatible route too: a chat request's trace id reaches the provider
      String chatTrace = HexFormat.of().formatHex(UUID.randomUUID().toString().replace("-", "").substring(0, 16)
        .getBytes(StandardCharsets.US_ASCII));
      HttpResponse<String> chat = TestHub.HTTP.send(HttpRequest.newBuilder(URI.create(edge.url()
          + "/v1/chat/completions")).timeout(Duration.ofSeconds(60)).header("traceparent", "00-" + chatTrace
          + "-00f067aa0ba902b7-01").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("model", "support").put("messages",
          new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello from a chat client")))
          .encode())).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
      assertThat(chat.headers().firstValue("x-trace-id")).hasValue(chatTrace);
      assertThat(mock.traceparents()).anySatisfy(tp -> assertThat(tp).startsWith("00-" + chatTrace + "-"));
      // a request without a traceparent starts a trace of its own
      HttpResponse<String> fresh = TestHub.post(edge.url() + "/v1/agents/support/messages",
        new JsonObject().put("session", "t2").put("text", "again").encode());
      assertThat(fresh.statusCode()).isEqualTo(200);
      assertThat(fresh.headers().firstValue("x-trace-id").orElseThrow()).hasSize(32).isNotEqualTo(traceId);
    } finally {
      if (worker != null) {
        worker.close().await(1, TimeUnit.MINUTES);
      }
      edge.close().await(1, TimeUnit.MINUTES);
    }
  }
}
