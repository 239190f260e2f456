package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP door against clients that are slow, refused or sloppy: refused before their body is read,
 * cut off when their head or body is late, numbers and text checked, a scrape-only token kept to
 * {@code /metrics}, and a long session kept under its limits by compaction.
 */
class HttpEdgeTest {

  private static final String NODE = "node: { name: %s, roles: [general], http: { port: 0, max-body: 1MiB, "
    + "request-timeout: 30s, header-timeout: 2s, body-timeout: 2s } }\n";
  // small files, so a long session passes its transcript limit many times over
  private static final String SMALL_MEMORY = "memory: { dir: \"%s\", max-entry: 1KiB, max-file: 16KiB, "
    + "transcript-max: 4KiB }\n";

  private static HubNode node;
  private static HubNode open;
  private static Path memory;
  private static Path openMemory;

  @BeforeAll
  static void start() throws Exception {
    memory = Fixtures.freshDir();
    node = TestHub.start(HubYaml.yamlWithNode(NODE.formatted("edge1"), 0, SMALL_MEMORY.formatted(memory) + """
      clients:
        - { id: web, token-sha256: %s, agents: [support] }
        - { id: ops-team, token-sha256: %s, agents: "*", admin: true }
        - { id: scraper, token-sha256: %s, metrics: true }
      """.formatted(ClientAuth.sha256("web-token"), ClientAuth.sha256("admin-token"),
      ClientAuth.sha256("scrape-token"))));
    openMemory = Fixtures.freshDir();
    open = TestHub.start(HubYaml.yamlWithNode(NODE.formatted("edge2"), 0, SMALL_MEMORY.formatted(openMemory)));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
    open.close().await(1, TimeUnit.MINUTES);
  }

  // ------------------------------------------------------------------ refused before the body

  @Test
  void aRefusedClientIsAnsweredBeforeItSendsItsBody() throws Exception {
    // headers announcing 500 kB and not a byte of it: the answer comes without the body
    Map<String, Integer> refusals = Map.of(
      head("POST", "/v1/agents/support/messages", "wrong-token", 500_000), 401,
      head("POST", "/v1/agents/support/messages", null, 500_000), 401,
      head("POST", "/v1/agents/ops/messages", "web-token", 500_000), 403,
      head("POST", "/v1/agents/nobody/messages", "web-token", 500_000), 404,
      head("POST", "/v1/chat/completions", "wrong-token", 500_000), 401,
      head("POST", "/v1/memory/shared/x.md", "web-token", 500_000), 403,
      head("PUT", "/v1/memory/shared/x.md", "wrong-token", 500_000), 401);
    for (var refusal : refusals.entrySet()) {
      try (Socket socket = connect(node)) {
        socket.getOutputStream().write(refusal.getKey().getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        String answer = readAnswer(socket.getInputStream());
        assertThat(answer).as(refusal.getKey()).startsWith("HTTP/1.1 " + refusal.getValue() + " ");
        assertErrorObject(answer);
      }
    }
  }

  // ------------------------------------------------------------------ deadlines

  @Test
  void aConnectionThatNeverFinishesItsHeadIsClosed() throws Exception {
    try (Socket socket = connect(node)) {
      OutputStream out = socket.getOutputStream();
      out.write("POST /v1/agents/support/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(
        StandardCharsets.US_ASCII));
      out.flush();
      // header-timeout is 2 s; the read waits up to a minute for the close
      assertThat(readToClose(socket.getInputStream())).as("nothing is answered to half a head").isEmpty();
    }
    assertThat(TestHub.get(node.url() + "/health/ready").statusCode()).isEqualTo(200);
  }

  @Test
  void aBodyThatStopsHalfWayIsAnswered408AndItsConnectionClosed() throws Exception {
    try (Socket socket = connect(node)) {
      OutputStream out = socket.getOutputStream();
      out.write((head("POST", "/v1/agents/support/messages", "web-token", 1000) + "{\"session\":\"slow\",")
        .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = readAnswer(socket.getInputStream());
      assertThat(answer).startsWith("HTTP/1.1 408 ");
      assertThat(errorObject(answer).getString("type")).isEqualTo("request_timeout");
      assertThat(readToClose(socket.getInputStream())).as("the connection is closed after the 408").isEmpty();
    }
    // a prompt client on the same door is served as ever
    assertThat(send("POST", "/v1/agents/support/messages", "web-token",
      new JsonObject().put("session", "prompt").put("text", "hi").encode()).statusCode()).isEqualTo(200);
  }

  @Test
  void aKeptAliveConnectionThatSendsNothingMoreIsClosedAfterTheIdleTimeout() throws Exception {
    HubNode idle = TestHub.start(HubYaml.yamlWithNode(NODE.replace("body-timeout: 2s", "body-timeout: 2s, idle-timeout: 1s")
      .formatted("edge3"), 0, ""));
    try (Socket socket = connect(idle)) {
      socket.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(
        StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      assertThat(readAnswer(socket.getInputStream())).startsWith("HTTP/1.1 200 ");
      // kept alive after the answer, then closed once idle (the read waits up to a minute)
      assertThat(readToClose(socket.getInputStream())).isEmpty();
    } finally {
      idle.close().await(1, TimeUnit.MINUTES);
    }
  }

  // ------------------------------------------------------------------ a scrape-only token

  @Test
  void aMetricsTokenReachesMetricsAndNothingElse() throws Exception {
    assertThat(send("GET", "/metrics", "scrape-token", null).statusCode()).isEqualTo(200);
    for (String path : new String[]{"/v1/agents", "/v1/models", "/v1/models/support", "/v1/spend", "/v1/cluster",
      "/v1/memory"}) {
      HttpResponse<String> r = send("GET", path, "scrape-token", null);
      assertThat(r.statusCode()).as(path).isEqualTo(403);
      GatewayTest.assertErrorShape(r);
    }
    HttpResponse<String> message = send("POST", "/v1/agents/support/messages", "scrape-token",
      new JsonObject().put("session", "s").put("text", "hi").encode());
    assertThat(message.statusCode()).isEqualTo(403);
    // the agents' list is still there for a client that talks to agents
    assertThat(send("GET", "/v1/agents", "web-token", null).statusCode()).isEqualTo(200);
  }

  // ------------------------------------------------------------------ numbers

  @Test
  void numbersOutOfRangeOrOfTheWrongTypeAre400NamingTheField() throws Exception {
    Object[][] bad = {
      {"temperature", 2.5, "decimal_above_max_value"}, {"temperature", -0.1, "decimal_below_min_value"},
      {"temperature", "0.7", "invalid_type"}, {"top_p", 1.01, "decimal_above_max_value"},
      {"top_p", true, "invalid_type"}, {"presence_penalty", -2.5, "decimal_below_min_value"},
      {"frequency_penalty", 3, "decimal_above_max_value"}, {"max_tokens", 0, "integer_below_min_value"},
      {"max_completion_tokens", "100", "invalid_type"}, {"max_tokens", 1.5, "invalid_type"},
      {"n", 0, "integer_below_min_value"}, {"n", 1.5, "invalid_type"}, {"seed", 1.5, "invalid_type"},
      {"seed", "42", "invalid_type"}, {"top_logprobs", 21, "integer_above_max_value"},
      {"logit_bias", new JsonObject().put("50256", 101), null}, {"logit_bias", "none", "invalid_type"},
      {"parallel_tool_calls", "yes", null}, {"metadata", "x", "invalid_type"}};
    for (Object[] b : bad) {
      String field = (String) b[0];
      JsonObject body = chat().put(field, b[1]);
      HttpResponse<String> r = send("POST", "/v1/chat/completions", "web-token", body.encode());
      assertThat(r.statusCode()).as(field + "=" + b[1] + ": " + r.body()).isEqualTo(400);
      JsonObject error = new JsonObject(r.body()).getJsonObject("error");
      assertThat(error.getString("param")).as(field + "=" + b[1]).isEqualTo(field);
      assertThat(error.getString("type")).isEqualTo("invalid_request_error");
      if (b[2] != null) {
        assertThat(error.getString("code")).as(field + "=" + b[1]).isEqualTo(b[2]);
      }
    }
    // every number within its range is taken
    JsonObject good = chat().put("temperature", 2).put("top_p", 0.5).put("presence_penalty", -2)
      .put("frequency_penalty", 1.5).put("max_tokens", 64).put("n", 1).put("seed", 42)
      .put("logit_bias", new JsonObject().put("50256", -100));
    HttpResponse<String> ok = send("POST", "/v1/chat/completions", "web-token", good.encode());
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
  }

  private static JsonObject chat() {
    return new JsonObject().put("model", "support").put("messages", new JsonArray().add(new JsonObject()
      .put("role", "user").put("content", "hello")));
  }

  // ------------------------------------------------------------------ NUL in memory text

  @Test
  void memoryTextWithANulIs400NamingTheFieldOnEveryPath() throws Exception {
    HttpResponse<String> append = send("POST", "/v1/memory/shared/nul.md", "admin-token",
      new JsonObject().put("author", "ops").put("text", "before\0after").encode());
    assertThat(append.statusCode()).as(append.body()).isEqualTo(400);
    assertThat(new JsonObject(append.body()).getJsonObject("error").getString("param")).isEqualTo("text");
    HttpResponse<String> replace = send("PUT", "/v1/memory/shared/nul.md", "admin-token", "# notes\n\0\n");
    assertThat(replace.statusCode()).as(replace.body()).isEqualTo(400);
    assertThat(new JsonObject(replace.body()).getJsonObject("error").getString("param")).isEqualTo("body");
    // a message's text goes to the transcript: refused at the door
    HttpResponse<String> message = send("POST", "/v1/agents/support/messages", "web-token",
      new JsonObject().put("session", "nul").put("text", "a\0b").encode());
    assertThat(message.statusCode()).as(message.body()).isEqualTo(400);
    assertThat(new JsonObject(message.body()).getJsonObject("error").getString("param")).isEqualTo("text");
    HttpResponse<String> chat = send("POST", "/v1/chat/completions", "web-token", new JsonObject().put("model", "support")
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "a\0b"))).encode());
    assertThat(chat.statusCode()).as(chat.body()).isEqualTo(400);
    assertThat(new JsonObject(chat.body()).getJsonObject("error").getString("param")).isEqualTo("messages[0].content");
    // an agent's skill goes to the store, which refuses it too
    HttpResponse<String> skill = send("POST", "/v1/agents/support/messages", "web-token", new JsonObject()
      .put("session", "nul").put("text", "/tool memory.append " + new JsonObject().put("path", "nul-notes.md")
        .put("text", "x\0y").encode()).encode());
    assertThat(skill.statusCode()).as(skill.body()).isEqualTo(200);
    assertThat(new JsonObject(skill.body()).getString("reply")).contains("NUL");
    assertThat(memory.resolve("shared/nul.md")).doesNotExist();
    assertThat(memory.resolve("agents/support/nul-notes.md")).doesNotExist();
  }

  // ------------------------------------------------------------------ compaction

  @Test
  void aLongSessionOfAClientIsCompactedAndKeepsAnswering() throws Exception {
    longSession(node, "web-token", "long-web");
    Path archive = memory.resolve("agents/support/sessions/web/archive/long-web.1.md");
    assertThat(archive).exists();
    assertThat(Files.size(memory.resolve("agents/support/sessions/web/long-web.md"))).isLessThanOrEqualTo(16 * 1024);
  }

  @Test
  void aLongSessionWithoutClientsIsCompactedAndKeepsAnswering() throws Exception {
    longSession(open, null, "long-open");
    assertThat(openMemory.resolve("agents/support/sessions/archive/long-open.1.md")).exists();
  }

  /** 60 turns of some 600 bytes each: four times the 16 KiB a file may hold, were nothing compacted. */
  private static void longSession(HubNode hub, String token, String session) throws Exception {
    for (int i = 0; i < 60; i++) {
      String body = new JsonObject().put("session", session).put("text", "turn " + i + " " + "w".repeat(300)).encode();
      HttpResponse<String> r = token == null ? TestHub.post(hub.url() + "/v1/agents/support/messages", body)
        : TestHub.send("POST", hub.url() + "/v1/agents/support/messages", body, token);
      assertThat(r.statusCode()).as("turn " + i + ": " + r.body()).isEqualTo(200);
    }
  }

  // ------------------------------------------------------------------ helpers

  private static HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + path)).timeout(Duration.ofSeconds(60))
      .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
      .header("Content-Type", "application/json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return TestHub.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A request head announcing {@code length} bytes of JSON body. */
  private static String head(String method, String path, String token, int length) {
    return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      + (token == null ? "" : "Authorization: Bearer " + token + "\r\n") + "Content-Length: " + length + "\r\n\r\n";
  }

  private static Socket connect(HubNode hub) throws IOException {
    URI uri = URI.create(hub.url());
    Socket socket = new Socket(uri.getHost(), uri.getPort());
    socket.setSoTimeout(60_000); // generous: a late answer fails the test, a slow machine does not
    return socket;
  }

  /** One HTTP/1.1 answer with a Content-Length body: head and body as text. */
  private static String readAnswer(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before an answer: " + head.toString(StandardCharsets.ISO_8859_1));
      }
      head.write(b);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : text.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  /** Everything until the server closes the connection (a reset counts as closed). */
  private static String readToClose(InputStream in) throws IOException {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (SocketException reset) {
      return "";
    }
  }

  private static JsonObject errorObject(String answer) {
    return new JsonObject(answer.substring(answer.indexOf("\r\n\r\n") + 4)).getJsonObject("error");
  }

  private static void assertErrorObject(String answer) {
    JsonObject error = errorObject(answer);
    assertThat(error.fieldNames()).contains("message", "type", "param", "code");
    assertThat(answer).doesNotContain("\tat ");
  }
}
