package dev.agenthub.hub.governor;

import dev.agenthub.agents.Tokens;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;

/**
 * The built-in offline model: deterministic (the same prompt gives the same reply), the reply derived
 * from the prompt, usage counted at about four characters a token. No Vert.x in here: the governor
 * adds the configured latency around it.
 */
final class SimProvider {

  /** What the sim answers: text and token usage. */
  record Answer(String content, long inputTokens, long outputTokens) {
  }

  private static final String[] OPENERS = {
    "Understood.", "Got it.", "Thanks for the message.", "Sure.", "Noted.", "Happy to help."
  };
  private static final String[] CLOSERS = {
    "Let me know if you need more detail.", "Anything else I can do?", "I can follow up on this.",
    "Tell me if that does not match what you expected.", "That is my best answer with what I know."
  };
  // each message costs a few tokens of framing besides its content, as with real chat models
  private static final int TOKENS_PER_MESSAGE = 4;

  Answer complete(String model, JsonArray messages, int maxTokens) {
    long input = 0;
    String lastUser = "";
    int turns = 0;
    for (int i = 0; i < messages.size(); i++) {
      JsonObject message = messages.getJsonObject(i);
      String content = message.getString("content", "");
      input += Tokens.estimate(content) + TOKENS_PER_MESSAGE;
      if ("user".equals(message.getString("role"))) {
        lastUser = content;
        turns++;
      }
    }
    long h = fnv1a64(model + "\u0000" + messages.encode());
    String reply = reply(lastUser, turns, h);
    int maxChars = Math.max(4, maxTokens * 4);
    if (reply.length() > maxChars) {
      reply = reply.substring(0, maxChars);
    }
    return new Answer(reply, input, Tokens.estimate(reply));
  }

  private static String reply(String lastUser, int turns, long h) {
    String topic = summarize(lastUser);
    StringBuilder sb = new StringBuilder();
    sb.append(OPENERS[(int) Long.remainderUnsigned(h, OPENERS.length)]);
    if (topic.isEmpty()) {
      sb.append(" I did not get a question there.");
    } else {
      sb.append(" You wrote about \"").append(topic).append("\".");
    }
    if (turns > 1) {
      sb.append(" This is message ").append(turns).append(" of our conversation.");
    }
    sb.append(' ').append(CLOSERS[(int) Long.remainderUnsigned(h >>> 17, CLOSERS.length)]);
    sb.append(" [sim ").append(String.format("%08x", h & 0xffffffffL)).append(']');
    return sb.toString();
  }

  /** The first dozen words of the message, whitespace collapsed. */
  private static String summarize(String text) {
    String[] words = text.trim().split("\\s+");
    if (words.length == 1 && words[0].isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(12, words.length); i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(words[i].replace("\"", "'"));
    }
    if (words.length > 12) {
      sb.append(" ...");
    }
    return sb.length() > 160 ? sb.substring(0, 160) + " ..." : sb.toString();
  }

  static long fnv1a64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return h;
  }
}
