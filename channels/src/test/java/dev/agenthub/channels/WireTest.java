package dev.agenthub.channels;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import static org.assertj.core.api.Assertions.assertThat;

/** The platforms' formats: Slack's signature and events, Telegram's updates, splits and escapes. */
class WireTest {

  /** Slack's signature as its documentation gives it, computed here apart from the code under test. */
  private static String slackSignature(String secret, long ts, String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "v0=" + HexFormat.of().formatHex(mac.doFinal(("v0:" + ts + ":" + body).getBytes(StandardCharsets.UTF_8)));
  }

  private static MultiMap headers(String signature, long ts) {
    return MultiMap.caseInsensitiveMultiMap().add("X-Slack-Signature", signature)
      .add("X-Slack-Request-Timestamp", Long.toString(ts));
  }

  @Test
  void slacksSignatureIsCheckedOverTheRawBodyWithinFiveMinutes() throws Exception {
    String body = "{\"type\":\"event_callback\",\"event_id\":\"Ev1\"}";
    long now = 1_700_000_000L;
    String good = slackSignature("s3cret", now, body);
    assertThat(SlackWire.verified(headers(good, now), Buffer.buffer(body), "s3cret", now)).isTrue();
    assertThat(SlackWire.verified(headers(good, now), Buffer.buffer(body), "s3cret", now + 299)).isTrue();
    assertThat(SlackWire.verified(headers(good, now), Buffer.buffer(body), "s3cret", now + 301)).isFalse();
    assertThat(SlackWire.verified(headers(good, now), Buffer.buffer(body + " "), "s3cret", now)).isFalse();
    assertThat(SlackWire.verified(headers(good, now), Buffer.buffer(body), "other", now)).isFalse();
    assertThat(SlackWire.verified(headers(good, now + 1), Buffer.buffer(body), "s3cret", now)).isFalse();
    assertThat(SlackWire.verified(MultiMap.caseInsensitiveMultiMap(), Buffer.buffer(body), "s3cret", now)).isFalse();
    assertThat(SlackWire.verified(headers(good, now).set("X-Slack-Request-Timestamp", "soon"), Buffer.buffer(body),
      "s3cret", now)).isFalse();
  }

  private static JsonObject callback(JsonObject event) {
    return new JsonObject().put("type", "event_callback").put("event_id", "Ev9").put("event", event);
  }

  @Test
  void slackAnswersDmsAndMentionsOfPeopleOnly() {
    JsonObject dm = new JsonObject().put("type", "message").put("channel_type", "im").put("channel", "D1")
      .put("user", "U1").put("text", "hi").put("ts", "1.1");
    Inbound asked = SlackWire.ask("sl", callback(dm), "UBOT");
    assertThat(asked).isEqualTo(new Inbound("sl", "Ev9", "D1", "U1", "1.1", false, "hi"));
    assertThat(asked.session(true)).isEqualTo("sl:D1:1.1");
    JsonObject mention = new JsonObject().put("type", "app_mention").put("channel", "C1").put("user", "U1")
      .put("text", "<@UBOT> status?").put("ts", "2.2").put("thread_ts", "1.0");
    assertThat(SlackWire.ask("sl", callback(mention), "UBOT")).isEqualTo(new Inbound("sl", "Ev9", "C1", "U1", "1.0",
      true, "status?"));
    assertThat(SlackWire.ask("sl", callback(dm.copy().put("user", "UBOT")), "UBOT")).isNull();
    assertThat(SlackWire.ask("sl", callback(dm.copy().put("bot_id", "B1")), "UBOT")).isNull();
    assertThat(SlackWire.ask("sl", callback(dm.copy().put("subtype", "message_changed")), "UBOT")).isNull();
    assertThat(SlackWire.ask("sl", callback(dm.copy().put("channel_type", "channel")), "UBOT")).isNull();
    assertThat(SlackWire.ask("sl", callback(mention.copy().put("text", "<@UBOT>")), "UBOT")).isNull();
    assertThat(SlackWire.postMessage(asked, "ok")).isEqualTo(new JsonObject().put("channel", "D1").put("text", "ok")
      .put("thread_ts", "1.1"));
  }

  @Test
  void telegramTakesPeoplesTextMessagesAndRepliesInGroups() {
    JsonObject update = new JsonObject().put("update_id", 7).put("message", new JsonObject().put("message_id", 70)
      .put("from", new JsonObject().put("id", 5).put("is_bot", false))
      .put("chat", new JsonObject().put("id", -100).put("type", "supergroup")).put("text", "hello"));
    Inbound asked = TelegramWire.ask("tg", update);
    assertThat(asked).isEqualTo(new Inbound("tg", "7", "-100", "5", "70", true, "hello"));
    assertThat(asked.session(false)).isEqualTo("tg:-100");
    JsonObject fromBot = update.copy();
    fromBot.getJsonObject("message").getJsonObject("from").put("is_bot", true);
    assertThat(TelegramWire.ask("tg", fromBot)).isNull();
    JsonObject photo = update.copy();
    photo.getJsonObject("message").remove("text");
    assertThat(TelegramWire.ask("tg", photo)).isNull();
    assertThat(TelegramWire.ask("tg", new JsonObject().put("update_id", 8).put("edited_message", new JsonObject())))
      .isNull();
    assertThat(TelegramWire.verified("abc", "abc")).isTrue();
    assertThat(TelegramWire.verified("abd", "abc")).isFalse();
    assertThat(TelegramWire.verified(null, "abc")).isFalse();
  }

  @Test
  void longAnswersAreSplitWithinTheLimitAndOnlyTheFirstPartIsAReply() {
    String text = ("word ".repeat(1000) + "\n").repeat(2);
    Inbound to = new Inbound("tg", "1", "-5", "9", "42", true, "q");
    List<JsonObject> parts = TelegramWire.sendMessages(to, text);
    assertThat(parts).hasSizeGreaterThan(1).allSatisfy(p -> assertThat(p.getString("text")).hasSizeLessThanOrEqualTo(
      TelegramWire.MAX_TEXT));
    assertThat(String.join("", parts.stream().map(p -> p.getString("text")).toList()).replaceAll("\\s", ""))
      .isEqualTo(text.replaceAll("\\s", ""));
    assertThat(parts.get(0).getJsonObject("reply_parameters").getLong("message_id")).isEqualTo(42L);
    assertThat(parts.get(1).containsKey("reply_parameters")).isFalse();
    assertThat(TelegramWire.split("", 20)).containsExactly("(no answer)");
    assertThat(TelegramWire.split(" \n ", 20)).containsExactly("(no answer)");
    assertThat(TelegramWire.split("abc def     ", 4)).containsExactly("abc", "def");
    assertThat(TelegramWire.split("x".repeat(25), 10)).containsExactly("x".repeat(10), "x".repeat(10), "x".repeat(5));
  }

  @Test
  void markdownV2EscapesEveryReservedCharacter() {
    assertThat(TelegramWire.markdownV2("a_b*c[d](e)~`>#+-=|{}.!\\")).isEqualTo(
      "a\\_b\\*c\\[d\\]\\(e\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!\\\\");
  }
}
