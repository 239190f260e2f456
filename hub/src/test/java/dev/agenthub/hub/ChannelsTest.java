package dev.agenthub.hub;

import dev.agenthub.devtools.platforms.SlackStandIn;
import dev.agenthub.devtools.platforms.TelegramStandIn;
import dev.agenthub.testing.Fixtures;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Channels on a real node against strict stand-ins of Telegram's Bot API and Slack's Web API:
 * signatures and secret tokens, duplicates, bots, allow-from, pacing, the polite failure reply.
 */
class ChannelsTest {

  private static final String TG_TOKEN = "123456:tg-token-for-tests";
  private static final String TG_SECRET = "tg-webhook-secret_1";
  private static final String SLACK_TOKEN = "xoxb-slack-token-for-tests";
  private static final String SIGNING = "slack-signing-secret-for-tests";
  private static Vertx platforms;
  private static TelegramStandIn telegram;
  private static SlackStandIn slack;
  private static HubNode node;
  private static Path memory;

  @BeforeAll
  static void start() throws Exception {
    platforms = Vertx.vertx();
    telegram = new TelegramStandIn(platforms, TG_TOKEN);
    slack = new SlackStandIn(platforms, SLACK_TOKEN);
    String tgBase = telegram.start().await(30, TimeUnit.SECONDS);
    String slackBase = slack.start().await(30, TimeUnit.SECONDS);
    memory = Fixtures.freshDir();
    node = TestHub.start("""
      node: { name: ch1, roles: [general], http: { port: 0, request-timeout: 30s } }
      memory: { dir: "%s" }
      ledger: { dir: "%s" }
      audit: { dir: "%s" }
      providers: { sim: { type: sim, latency-ms: 0 } }
      models: { sim-small: { provider: sim } }
      agents:
        - { id: support, models: { routine: sim-small } }
        - { id: ops, models: { routine: sim-small } }
      channels:
        - { id: tg-support, type: telegram, agent: support, token: "%s", mode: webhook, secret: "%s",
            public-url: "https://hub.example", api-base: "%s", routes: [ { match: { chat: "777" }, agent: ops } ] }
        - { id: slack-ops, type: slack, agent: ops, token: "%s", signing-secret: "%s", api-base: "%s",
            allow-from: [C1, D1, D2] }
      """.formatted(memory, Fixtures.freshDir(), Fixtures.freshDir(), TG_TOKEN, TG_SECRET, tgBase, SLACK_TOKEN, SIGNING,
      slackBase));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
    platforms.close().await(30, TimeUnit.SECONDS);
  }

  private static HttpResponse<String> post(String channel, String body, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + "/channels/" + channel))
      .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    return TestHub.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonObject update(long id, long chat, String text) {
    return new JsonObject().put("update_id", id).put("message", new JsonObject().put("message_id", id * 10)
      .put("from", new JsonObject().put("id", 55).put("is_bot", false).put("first_name", "Ada"))
      .put("chat", new JsonObject().put("id", chat).put("type", chat < 0 ? "group" : "private"))
      .put("date", 1_700_000_000).put("text", text));
  }

  @Test
  void telegramRegistersItsWebhookAndAnswersEachUpdateOnce() throws Exception {
    assertThat(telegram.webhooks()).anySatisfy(w -> {
      assertThat(w.getString("url")).isEqualTo("https://hub.example/channels/tg-support");
      assertThat(w.getString("secret_token")).isEqualTo(TG_SECRET);
      assertThat(w.getJsonArray("allowed_updates").getList()).containsExactly("message");
    });
    Map<String, String> secret = Map.of("X-Telegram-Bot-Api-Secret-Token", TG_SECRET);
    String body = update(1001, 4242, "Where is my parcel 1001?").encode();
    assertThat(post("tg-support", body, secret).statusCode()).isEqualTo(200);
    assertThat(post("tg-support", body, secret).statusCode()).isEqualTo(200); // Telegram delivers again
    Fixtures.await("the reply", Duration.ofSeconds(60), () -> telegram.sent().stream()
      .anyMatch(m -> m.getValue("chat_id").toString().equals("4242")));
    Thread.sleep(1_500);
    assertThat(telegram.sent().stream().filter(m -> m.getValue("chat_id").toString().equals("4242"))).hasSize(1);
    assertThat(telegram.actions()).anySatisfy(a -> assertThat(a.getString("action")).isEqualTo("typing"));
    assertThat(Files.readString(memory.resolve("agents/support/sessions/tg-support:4242.md")))
      .contains("Where is my parcel 1001?");

    assertThat(post("tg-support", update(1002, 4242, "x").encode(), Map.of()).statusCode()).isEqualTo(401);
    assertThat(post("tg-support", update(1003, 4242, "x").encode(),
      Map.of("X-Telegram-Bot-Api-Secret-Token", "wrong")).statusCode()).isEqualTo(401);
  }

  @Test
  void aRoutedChatGoesToItsAgentAndGroupsAreAnsweredAsRepliesWithinThePace() throws Exception {
    Map<String, String> secret = Map.of("X-Telegram-Bot-Api-Secret-Token", TG_SECRET);
    assertThat(post("tg-support", update(2001, 777, "ops question").encode(), secret).statusCode()).isEqualTo(200);
    Fixtures.await("the routed reply", Duration.ofSeconds(60), () -> Files.exists(
      memory.resolve("agents/ops/sessions/tg-support:777.md")));
    for (int i = 0; i < 4; i++) {
      assertThat(post("tg-support", update(2100 + i, -100500, "group message " + i).encode(), secret).statusCode())
        .isEqualTo(200);
    }
    Fixtures.await("four replies in the group", Duration.ofSeconds(90), () -> telegram.sent().stream()
      .filter(m -> m.getValue("chat_id").toString().equals("-100500")).count() == 4);
    assertThat(telegram.sent().stream().filter(m -> m.getValue("chat_id").toString().equals("-100500")))
      .allSatisfy(m -> assertThat(m.getJsonObject("reply_parameters").getLong("message_id")).isPositive());
    assertThat(telegram.tooMany()).isZero();
  }

  @Test
  void slackChecksSignaturesAnswersInTheThreadOnceAndIgnoresBotsAndStrangers() throws Exception {
    long now = System.currentTimeMillis() / 1000;
    String challenge = new JsonObject().put("type", "url_verification").put("challenge", "c-123").encode();
    HttpResponse<String> verify = post("slack-ops", challenge, SlackStandIn.sign(SIGNING, challenge, now));
    assertThat(verify.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(verify.body()).getString("challenge")).isEqualTo("c-123");

    String event = callback("Ev1", "D1", "U7", "hello from a DM", "1700000000.000100", null).encode();
    assertThat(post("slack-ops", event, SlackStandIn.sign(SIGNING, event, now)).statusCode()).isEqualTo(200);
    Map<String, String> retry = new HashMap<>(SlackStandIn.sign(SIGNING, event, now));
    retry.put("X-Slack-Retry-Num", "1");
    assertThat(post("slack-ops", event, retry).statusCode()).isEqualTo(200);
    Fixtures.await("the reply in the thread", Duration.ofSeconds(60), () -> slack.posted().stream()
      .anyMatch(m -> m.getString("channel").equals("D1")));
    Thread.sleep(1_500);
    assertThat(slack.posted().stream().filter(m -> m.getString("channel").equals("D1")).toList()).singleElement()
      .satisfies(m -> assertThat(m.getString("thread_ts")).isEqualTo("1700000000.000100"));

    String bad = callback("Ev2", "D1", "U7", "forged", "1700000000.000200", null).encode();
    assertThat(post("slack-ops", bad, SlackStandIn.sign("another-secret", bad, now)).statusCode()).isEqualTo(401);
    assertThat(post("slack-ops", bad, SlackStandIn.sign(SIGNING, bad, now - 600)).statusCode()).isEqualTo(401);
    assertThat(post("slack-ops", bad, Map.of()).statusCode()).isEqualTo(401);

    String own = callback("Ev3", "D1", SlackStandIn.BOT_USER, "my own words", "1700000000.000300", null).encode();
    String otherBot = callback("Ev4", "D1", "U8", "beep", "1700000000.000400", "B99").encode();
    String stranger = callback("Ev5", "D9", "U9", "let me in", "1700000000.000500", null).encode();
    for (String e : new String[] {own, otherBot, stranger}) {
      assertThat(post("slack-ops", e, SlackStandIn.sign(SIGNING, e, now)).statusCode()).isEqualTo(200);
    }
    Thread.sleep(2_000);
    assertThat(slack.posted().stream().map(m -> m.getString("text"))).noneMatch(t -> t.contains("beep")
      || t.contains("my own words") || t.contains("let me in"));
    assertThat(slack.posted().stream().filter(m -> m.getString("channel").equals("D9"))).isEmpty();
    assertThat(slack.tooMany()).isZero();
  }

  private static JsonObject callback(String eventId, String channel, String user, String text, String ts, String botId) {
    JsonObject event = new JsonObject().put("type", "message").put("channel_type", "im").put("channel", channel)
      .put("user", user).put("text", text).put("ts", ts);
    if (botId != null) {
      event.put("bot_id", botId);
    }
    return new JsonObject().put("type", "event_callback").put("event_id", eventId).put("event_time", 1_700_000_000)
      .put("event", event);
  }
}
