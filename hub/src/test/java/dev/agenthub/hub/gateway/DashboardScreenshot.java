package dev.agenthub.hub.gateway;

import dev.agenthub.devtools.mock.MockLlm;
import dev.agenthub.hub.Browser;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes the README's screenshot: two nodes under a minute and a half of load through a mock
 * provider with two keys, budgets and clients, the dashboard in a real browser. Not part of the
 * suite: {@code mvn -pl hub test -Dtest=DashboardScreenshot -Dagenthub.screenshot=$PWD/docs/dashboard.png}.
 */
@EnabledIfSystemProperty(named = "agenthub.screenshot", matches = ".+")
class DashboardScreenshot {

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static Path secret(String value) throws Exception {
    Path f = Files.createTempFile("agenthub-key", ".txt");
    Files.writeString(f, value + "\n");
    return f;
  }

  @Test
  void screenshotOfAClusterUnderLoad() throws Exception {
    Vertx side = Vertx.vertx();
    MockLlm mock = new MockLlm(side, 250, 0, List.of(new MockLlm.Key("sk-shot-a", 12_000, 20_000_000),
      new MockLlm.Key("sk-shot-b", 12_000, 20_000_000)));
    int mockPort = mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
    String cluster = "shot-" + UUID.randomUUID();
    String shared = HubYaml.clusterYaml(cluster, Fixtures.randomBasePort()) + HubYaml.memoryYaml(Fixtures.freshDir()) + """
      providers:
        openai: { type: openai, base-url: "http://127.0.0.1:%d/v1", local: true, keys: [
          { id: key-a, secret-file: "%s", rpm: 6000, tpm: 10000000 }, { id: key-b, secret-file: "%s", rpm: 6000, tpm: 10000000 } ] }
      models:
        gpt-4o-mini: { provider: openai, name: gpt-4o-mini, input: 0.15, output: 0.60 }
        gpt-4o: { provider: openai, name: gpt-4o, input: 2.50, output: 10.00 }
      agents:
        - { id: support, instances: 2, models: { routine: gpt-4o-mini, complex: gpt-4o }, cache: false, budget-usd: 12 }
        - { id: ops, models: { routine: gpt-4o-mini, complex: gpt-4o }, cache: false, daily-usd: 2 }
      budgets: { monthly-usd: 50, daily-usd: 20, on-exceed: downgrade }
      clients:
        - { id: admin, token-sha256: %s, agents: "*", admin: true }
        - { id: acme, token-sha256: %s, agents: [support, ops], budget-usd: 3 }
        - { id: globex, token-sha256: %s, agents: [support, ops] }
      """.formatted(mockPort, secret("sk-shot-a"), secret("sk-shot-b"), sha256("admin-token"), sha256("acme-token"),
      sha256("globex-token"));
    String ledger = "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\naudit: { dir: \"" + Fixtures.freshDir() + "\" }\n";
    String node = "node: { name: %s, roles: [general], http: { port: 0, request-timeout: 60s, client-rps: 0 } }\n";
    HubNode a = TestHub.start(node.formatted("hub-1") + ledger + shared);
    HubNode b = TestHub.start(node.formatted("hub-2") + ledger + shared);
    AtomicBoolean running = new AtomicBoolean(true);
    try {
      List<HubNode> nodes = List.of(a, b);
      for (int loop = 0; loop < 40; loop++) {
        drive(nodes.get(loop % 2), loop, running);
      }
      Thread.sleep(80_000);
      Path profile = Files.createTempDirectory("agenthub-chromium");
      try (Browser browser = Browser.open(a.url() + "/", profile, 1280, 2300)) {
        Fixtures.await("the page asks for the token", Duration.ofMinutes(1), () -> {
          try {
            return Boolean.TRUE.equals(browser.eval("!document.getElementById('login').hidden"));
          } catch (Exception e) {
            return false;
          }
        });
        browser.eval("document.getElementById('token').value = 'admin-token';"
          + "document.getElementById('login').requestSubmit(); true");
        Thread.sleep(6_000);
        browser.eval("document.querySelector('#rate-chart .u-over').dispatchEvent(new MouseEvent('mousemove', "
          + "{clientX: document.querySelector('#rate-chart .u-over').getBoundingClientRect().left + 380, clientY: "
          + "document.querySelector('#rate-chart .u-over').getBoundingClientRect().top + 60, bubbles: true})); true");
        Thread.sleep(500);
        browser.screenshot(Path.of(System.getProperty("agenthub.screenshot")));
      }
    } finally {
      running.set(false);
      Thread.sleep(2_000);
      b.close().await(1, TimeUnit.MINUTES);
      a.close().await(1, TimeUnit.MINUTES);
      side.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** One closed loop: a message, its answer, the next; some ask for the complex model. */
  private static void drive(HubNode node, int loop, AtomicBoolean running) {
    if (!running.get()) {
      return;
    }
    String token = loop % 3 == 0 ? "acme-token" : "globex-token";
    String agent = loop % 4 == 0 ? "ops" : "support";
    String text = (loop % 5 == 0 ? "/complex\n" : "") + "Where is my parcel number " + loop + "? " + UUID.randomUUID();
    HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents/" + agent + "/messages"))
      .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("session", "shot-" + loop).put("text", text).encode()))
      .build();
    CompletableFuture<HttpResponse<String>> sent = TestHub.HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    sent.whenComplete((r, err) -> drive(node, loop, running));
  }
}
