package dev.agenthub.channels;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Telegram's Bot API as plain functions: the webhook's secret token, what an update asks (a text
 * message from a person), {@code sendMessage} split at 4,096 characters (at a line or a space when it
 * can), answering a group's message as a reply to it ({@code reply_parameters}), and the
 * {@code setWebhook} that registers the hub.
 */
final class TelegramWire {

  static final int MAX_TEXT = 4_096;
  static final String SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token";

  private TelegramWire() {
  }

  static boolean verified(String header, String secret) {
    return header != null && MessageDigest.isEqual(header.getBytes(StandardCharsets.UTF_8),
      secret.getBytes(StandardCharsets.UTF_8));
  }

  /** What an update asks, or null: not a message, no text, from a bot. */
  static Inbound ask(String channel, JsonObject update) {
    Object id = update.getValue("update_id");
    JsonObject message = update.getJsonObject("message");
    if (!(id instanceof Number) || message == null) {
      return null;
    }
    JsonObject from = message.getJsonObject("from", new JsonObject());
    JsonObject chat = message.getJsonObject("chat", new JsonObject());
    String text = message.getString("text");
    if (text == null || text.isBlank() || from.getBoolean("is_bot", false) || chat.getValue("id") == null) {
      return null;
    }
    String type = chat.getString("type", "private");
    boolean group = !type.equals("private");
    return new Inbound(channel, String.valueOf(((Number) id).longValue()), String.valueOf(chat.getValue("id")),
      String.valueOf(from.getValue("id")), group ? String.valueOf(message.getValue("message_id")) : null, group, text);
  }

  /** The {@code sendMessage} bodies of an answer: plain text, at most 4,096 characters each. */
  static List<JsonObject> sendMessages(Inbound to, String text) {
    List<JsonObject> out = new ArrayList<>();
    for (String part : split(text, MAX_TEXT)) {
      JsonObject body = new JsonObject().put("chat_id", to.chat()).put("text", part);
      if (to.thread() != null && out.isEmpty()) {
        body.put("reply_parameters", new JsonObject().put("message_id", Long.parseLong(to.thread()))
          .put("allow_sending_without_reply", true));
      }
      out.add(body);
    }
    return out;
  }

  static JsonObject setWebhook(String url, String secret) {
    return new JsonObject().put("url", url).put("secret_token", secret)
      .put("allowed_updates", new JsonArray().add("message")).put("drop_pending_updates", false);
  }

  /** {@code text} in pieces of at most {@code max}, cut at a newline or space near the end when there is one. */
  static List<String> split(String text, int max) {
    List<String> parts = new ArrayList<>();
    // the platforms refuse an empty or blank message
    String rest = text.isBlank() ? "(no answer)" : text.strip();
    while (rest.length() > max) {
      int cut = rest.lastIndexOf('\n', max);
      if (cut < max / 2) {
        cut = rest.lastIndexOf(' ', max);
      }
      if (cut < max / 2) {
        cut = max;
      }
      parts.add(rest.substring(0, cut).stripTrailing());
      rest = rest.substring(cut).strip();
    }
    if (!rest.isEmpty()) {
      parts.add(rest);
    }
    return parts;
  }

  /** Text escaped for {@code parse_mode: MarkdownV2} (every character Telegram reserves). */
  static String markdownV2(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 16);
    for (char c : text.toCharArray()) {
      if ("_*[]()~`>#+-=|{}.!\\".indexOf(c) >= 0) {
        sb.append('\\');
      }
      sb.append(c);
    }
    return sb.toString();
  }
}
