package dev.agenthub.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Counts tokens the way one model's provider will: a real tokenizer where the hub knows the model's
 * encoding, a calibrated estimate elsewhere. Used to trim context to an agent's budget and to reserve
 * tokens on a key before a call. Implementations are thread-safe.
 */
public interface TokenCounter {

  /** About four characters a token: the rule of thumb for English text. */
  TokenCounter ESTIMATE = Tokens::estimate;

  /** Tokens of {@code text}. */
  int count(String text);

  /**
   * Tokens of chat messages as the provider bills them: each message's content and tool calls, plus
   * a few tokens of framing per message (three, as OpenAI documents for its chat models).
   */
  default int countMessages(JsonArray messages) {
    int total = 3;
    for (int i = 0; i < messages.size(); i++) {
      total += countMessage(messages.getJsonObject(i));
    }
    return total;
  }

  /** Tokens of one chat message, framing included. */
  default int countMessage(JsonObject message) {
    int total = 3;
    Object content = message.getValue("content");
    if (content instanceof String s) {
      total += count(s);
    } else if (content != null) {
      total += count(content.toString());
    }
    JsonArray calls = message.getJsonArray("tool_calls");
    if (calls != null) {
      total += count(calls.encode());
    }
    return total;
  }
}
