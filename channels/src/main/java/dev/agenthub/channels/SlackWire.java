package dev.agenthub.channels;

import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Slack's Events API and Web API as plain functions: the request signature ({@code v0}: HMAC-SHA256 of
 * {@code v0:<timestamp>:<body>} under the signing secret, timestamps at most 5 minutes off), what an
 * event asks ({@code message} in a DM, {@code app_mention} in a channel; bots, edits and the bot's
 * own messages are not asked anything), and the {@code chat.postMessage} that answers in the thread.
 */
final class SlackWire {

  static final long MAX_SKEW_SECONDS = 300;
  /** Slack cuts a message's text above this; longer answers go as several messages. */
  static final int MAX_TEXT = 40_000;

  private SlackWire() {
  }

  /** Whether the request is signed by Slack under {@code signingSecret}, now. */
  static boolean verified(MultiMap headers, Buffer body, String signingSecret, long nowSeconds) {
    String signature = headers.get("X-Slack-Signature");
    String timestamp = headers.get("X-Slack-Request-Timestamp");
    if (signature == null || timestamp == null) {
      return false;
    }
    long ts;
    try {
      ts = Long.parseLong(timestamp.trim());
    } catch (NumberFormatException e) {
      return false;
    }
    if (Math.abs(nowSeconds - ts) > MAX_SKEW_SECONDS) {
      return false;
    }
    Buffer base = Buffer.buffer("v0:" + timestamp.trim() + ":").appendBuffer(body);
    String want = "v0=" + HexFormat.of().formatHex(MessageAuth.hmac(signingSecret.getBytes(StandardCharsets.UTF_8),
      base.getBytes()));
    return MessageDigest.isEqual(want.getBytes(StandardCharsets.US_ASCII), signature.trim().getBytes(
      StandardCharsets.US_ASCII));
  }

  /**
   * What an {@code event_callback} asks the bot, or null when it asks nothing: not a user's message in
   * a DM or a mention, a bot's message (its own included), an edit or a deletion.
   */
  static Inbound ask(String channel, JsonObject callback, String botUser) {
    JsonObject event = callback.getJsonObject("event");
    String eventId = callback.getString("event_id");
    if (event == null || eventId == null) {
      return null;
    }
    String type = event.getString("type", "");
    boolean dm = type.equals("message") && "im".equals(event.getString("channel_type"));
    boolean mention = type.equals("app_mention");
    if (!dm && !mention || event.getString("subtype") != null || event.getString("bot_id") != null
      || event.getJsonObject("bot_profile") != null || botUser != null && botUser.equals(event.getString("user"))) {
      return null;
    }
    String text = event.getString("text", "");
    if (botUser != null) {
      text = text.replace("<@" + botUser + ">", "").strip();
    }
    if (text.isEmpty() || event.getString("channel") == null || event.getString("user") == null) {
      return null;
    }
    // replies go in the thread of the message: the thread it is in, else the message itself
    String thread = event.getString("thread_ts", event.getString("ts"));
    return new Inbound(channel, eventId, event.getString("channel"), event.getString("user"), thread, mention, text);
  }

  /** {@code chat.postMessage} in the message's thread. */
  static JsonObject postMessage(Inbound to, String text) {
    JsonObject body = new JsonObject().put("channel", to.chat()).put("text", text);
    if (to.thread() != null) {
      body.put("thread_ts", to.thread());
    }
    return body;
  }
}
