package dev.agenthub.channels;

import io.vertx.core.json.JsonObject;

/**
 * One message from a platform, in the platform's terms made plain: the channel, the delivery's id
 * (the same on every redelivery), where it came from and what it says.
 *
 * @param key       the delivery's id, unique per channel ({@code update_id}, {@code event_id})
 * @param chat      the chat (Telegram) or channel (Slack) id
 * @param user      the sender's id
 * @param thread    where the reply goes inside the chat: the message to reply to (Telegram, groups) or
 *                  the thread's {@code ts} (Slack); null for none
 * @param group     a group or channel rather than a direct chat
 */
record Inbound(String channel, String key, String chat, String user, String thread, boolean group, String text) {

  /** The session: {@code <channel id>:<chat>[:<thread>]} (Slack threads are sessions of their own). */
  String session(boolean threadIsSession) {
    return channel + ":" + chat + (threadIsSession && thread != null ? ":" + thread : "");
  }

  JsonObject toJson() {
    return new JsonObject().put("channel", channel).put("key", key).put("chat", chat).put("user", user)
      .put("thread", thread).put("group", group).put("text", text);
  }

  static Inbound fromJson(JsonObject json) {
    return new Inbound(json.getString("channel"), json.getString("key"), json.getString("chat"),
      json.getString("user"), json.getString("thread"), json.getBoolean("group", false), json.getString("text"));
  }
}
