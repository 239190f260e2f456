package dev.agenthub.hub.gateway;

import dev.agenthub.devtools.platforms.SlackStandIn;
import dev.agenthub.hub.Browser;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in a real browser on a hub with API clients: it asks for the admin token, sends it
 * in a header (never in a URL), draws its charts with values, and shows the budgets with their holds.
 */
class DashboardBrowserTest {

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static boolean holds(Browser browser, String expression) {
    try {
      return Boolean.TRUE.equals(browser.eval(expression));
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void theDashboardAsksForTheAdminTokenAndDrawsItsCharts() throws Exception {
    Assumptions.assumeTrue(Browser.available(), "Debian's chromium is not installed (scripts/test installs it when it can)");
    String token = "admin-token-" + System.nanoTime();
    HubNode node = TestHub.start(HubYaml.yaml("dash1", 5, """
      budgets: { monthly-usd: 5, daily-usd: 1 }
      clients:
        - { id: admin, token-sha256: %s, agents: "*", admin: true }
        - { id: scraper, token-sha256: %s, metrics: true }
      """.formatted(sha256(token), sha256("scrape-token"))));
    Path profile = Files.createTempDirectory("agenthub-chromium");
    try (Browser browser = Browser.open(node.url() + "/", profile)) {
      // without a token the stream is refused and the page asks for one
      Fixtures.await("the page asks for the admin token", Duration.ofMinutes(1),
        () -> holds(browser, "!document.getElementById('login').hidden"));
      assertThat(TestHub.get(node.url() + "/ui/events?token=" + token).statusCode())
        .as("a token in the URL is not accepted").isEqualTo(401);
      browser.eval("document.getElementById('token').value = '" + token + "';"
        + "document.getElementById('login').requestSubmit(); true");
      Fixtures.await("the page goes live", Duration.ofMinutes(1),
        () -> holds(browser, "document.getElementById('status').textContent === 'live'"));
      for (int i = 0; i < 6; i++) {
        HttpResponse<String> r = TestHub.send("POST", node.url() + "/v1/agents/support/messages",
          new JsonObject().put("session", "dash-" + i).put("text", "hello " + i).encode(), token);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      // four charts with axes; the traffic chart has points; budgets show with their period and holds
      Fixtures.await("the charts fill", Duration.ofMinutes(1), () -> holds(browser,
        "document.querySelectorAll('.uplot').length >= 3 && window.agenthubDashboard.points() >= 3"
          + " && window.agenthubDashboard.last().messages_total >= 6"));
      assertThat(browser.eval("document.querySelector('#rate-chart .u-title').textContent")).isEqualTo("Traffic");
      assertThat(browser.eval("[...document.querySelectorAll('[data-budget]')].map(e => e.dataset.budget).sort().join(',')"))
        .isEqualTo("day,global");
      assertThat((String) browser.eval("document.querySelector('[data-budget=global]').textContent")).contains("held");
      // the memory writer (one directory here: no copies to list)
      assertThat((String) browser.eval("document.getElementById('memory').textContent")).contains("writer")
        .contains("one directory");
      // the token never appeared in a URL the page asked for
      assertThat((String) browser.eval("performance.getEntries().map(e => e.name).join(' ')")).doesNotContain(token)
        .contains("/ui/events");
      browser.screenshot(Path.of("target", "dashboard-login.png"));
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void theDashboardShowsALinePerChannel() throws Exception {
    Assumptions.assumeTrue(Browser.available(), "Debian's chromium is not installed (scripts/test installs it when it can)");
    Vertx platform = Vertx.vertx();
    SlackStandIn slack = new SlackStandIn(platform, "xoxb-dash");
    String base = slack.start().await(30, TimeUnit.SECONDS);
    HubNode node = TestHub.start(HubYaml.yaml("dash3", 0, """
      channels:
        - { id: slack-ops, type: slack, agent: ops, token: "xoxb-dash", signing-secret: "dash-signing", api-base: "%s" }
      """.formatted(base)));
    Path profile = Files.createTempDirectory("agenthub-chromium");
    try (Browser browser = Browser.open(node.url() + "/", profile)) {
      long now = System.currentTimeMillis() / 1000;
      for (int i = 0; i < 3; i++) {
        String event = new JsonObject().put("type", "event_callback").put("event_id", "EvDash" + i).put("event",
          new JsonObject().put("type", "message").put("channel_type", "im").put("channel", "D" + i).put("user", "U" + i)
            .put("text", "hello " + i).put("ts", "1700000000.00" + i)).encode();
        HttpRequest.Builder post = HttpRequest.newBuilder(URI.create(node.url() + "/channels/slack-ops"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(event));
        SlackStandIn.sign("dash-signing", event, now).forEach(post::header);
        assertThat(TestHub.HTTP.send(post.build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      }
      HttpRequest.Builder forged = HttpRequest.newBuilder(URI.create(node.url() + "/channels/slack-ops"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}"));
      SlackStandIn.sign("not-the-secret", "{}", now).forEach(forged::header);
      assertThat(TestHub.HTTP.send(forged.build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
      Fixtures.await("the channel's line shows three in and three out", Duration.ofMinutes(1), () -> holds(browser,
        "(() => { const r = document.querySelector('[data-channel=slack-ops]'); if (!r) return false;"
          + " const c = r.querySelectorAll('td'); return c[2].textContent.startsWith('3 ') && c[3].textContent === '3'"
          + " && c[2].textContent.includes('1 refused'); })()"));
      assertThat(browser.eval("window.agenthubDashboard.last().messages_total")).as("channel turns count as messages")
        .isNotEqualTo(0);
      browser.eval("document.getElementById('channels').scrollIntoView(); true");
      browser.screenshot(Path.of("target", "dashboard-channels.png"));
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
      platform.close().await(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aScrapeOnlyTokenReadsMetricsAndNothingElse() throws Exception {
    HubNode node = TestHub.start(HubYaml.yaml("dash2", 0, """
      clients:
        - { id: admin, token-sha256: %s, agents: "*", admin: true }
        - { id: scraper, token-sha256: %s, metrics: true }
      """.formatted(sha256("admin-token"), sha256("scrape-token"))));
    try {
      HttpResponse<String> metrics = TestHub.get(node.url() + "/metrics", "scrape-token");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("agenthub_");
      assertThat(TestHub.get(node.url() + "/v1/spend", "scrape-token").statusCode()).isEqualTo(403);
      assertThat(TestHub.get(node.url() + "/v1/cluster", "scrape-token").statusCode()).isEqualTo(403);
      assertThat(TestHub.send("POST", node.url() + "/v1/agents/support/messages",
        "{\"session\":\"s\",\"text\":\"hi\"}", "scrape-token").statusCode()).isEqualTo(403);
      assertThat(TestHub.get(node.url() + "/metrics").statusCode()).isEqualTo(401);
      assertThat(TestHub.get(node.url() + "/metrics", "admin-token").statusCode()).isEqualTo(200);
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }
}
