package dev.agenthub.governor;


import dev.agenthub.protocol.Tokens;
import dev.agenthub.protocol.ToolChoice;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The built-in offline model: deterministic (the same prompt gives the same reply), the reply derived
 * from the prompt, usage counted at about four characters a token. No Vert.x in here: the governor
 * adds the configured latency around it.
 */
public final class SimProvider {

  /** Streamed answers come in pieces of at least this many words, and at most {@link #MAX_PIECES} pieces. */
  public static final int PIECE_WORDS = 3;
  static final int MAX_PIECES = 32;

  /** What the sim answers: text or tool calls, and token usage. */
  public record Answer(String content, JsonArray toolCalls, long inputTokens, long outputTokens, String finishReason) {
    Answer(String content, JsonArray toolCalls, long inputTokens, long outputTokens) {
      this(content, toolCalls, inputTokens, outputTokens, toolCalls.isEmpty() ? "stop" : "tool_calls");
    }
  }

  /** The sim was told to fail this model ({@code /fail <model>} in the last user message). */
  public static final class Failure extends RuntimeException {
    Failure(String message) {
      super(message, null, false, false);
    }
  }

  private static final Pattern TOOL_LINE = Pattern.compile("(?m)^/tool\\s+([A-Za-z0-9_.-]+)\\s*(\\{.*})?\\s*$");
  private static final Pattern REMEMBER = Pattern.compile("(?i)\\bremember that\\s+(.+)");
  private static final Pattern FAIL = Pattern.compile("(?m)^/fail\\s+(\\S+)\\s*$");

  private static final String[] OPENERS = {
    "Understood.", "Got it.", "Thanks for the message.", "Sure.", "Noted.", "Happy to help."
  };
  private static final String[] CLOSERS = {
    "Let me know if you need more detail.", "Anything else I can do?", "I can follow up on this.",
    "Tell me if that does not match what you expected.", "That is my best answer with what I know."
  };
  // each message costs a few tokens of framing besides its content, as with real chat models
  private static final int TOKENS_PER_MESSAGE = 4;

  public Answer complete(String model, JsonArray messages, int maxTokens) {
    return complete(model, messages, new JsonArray(), maxTokens);
  }

  /**
   * Answers like a chat model: tool calls when the last user message asks for them ({@code /tool
   * <skill> <json>} lines, or "remember that ..." when {@code memory.append} is offered), a reply that
   * uses the tool results once they are there, {@code HEARTBEAT_OK} to a heartbeat with no open task.
   */
  public Answer complete(String model, JsonArray messages, JsonArray tools, int maxTokens) {
    return complete(model, messages, tools, maxTokens, List.of());
  }

  /** As above, the answer cut at its first stop sequence (finish reason {@code stop}) or at the cap ({@code length}). */
  public Answer complete(String model, JsonArray messages, JsonArray tools, int maxTokens, List<String> stop) {
    return complete(model, messages, tools, maxTokens, stop, null);
  }

  /**
   * As above, under a tool choice (null: {@code auto}): {@code none} calls no tool whatever the message
   * says; {@code required} calls the {@code /tool} lines' tools, else the first tool offered, with
   * {@code {}}; a named function is called with the arguments of a {@code /tool} line naming it, else
   * with {@code {}}. A forced choice calls even when tool results are there, as a real model must.
   */
  public Answer complete(String model, JsonArray messages, JsonArray tools, int maxTokens, List<String> stop,
                         ToolChoice choice) {
    ToolChoice.Mode mode = choice == null ? ToolChoice.Mode.AUTO : choice.mode();
    long input = 0;
    String lastUser = "";
    int lastUserIndex = -1;
    int turns = 0;
    for (int i = 0; i < messages.size(); i++) {
      JsonObject message = messages.getJsonObject(i);
      String content = message.getString("content", "");
      input += Tokens.estimate(content) + TOKENS_PER_MESSAGE;
      if ("user".equals(message.getString("role"))) {
        lastUser = content;
        lastUserIndex = i;
        turns++;
      }
    }
    input += Tokens.estimate(tools.encode()) / 2;
    long h = fnv1a64(model + "\u0000" + messages.encode());
    Matcher fail = FAIL.matcher(lastUser);
    while (fail.find()) {
      if (fail.group(1).equals(model)) {
        throw new Failure("sim: told to fail " + model);
      }
    }
    List<JsonObject> results = new ArrayList<>();
    for (int i = lastUserIndex + 1; i < messages.size(); i++) {
      if ("tool".equals(messages.getJsonObject(i).getString("role"))) {
        results.add(messages.getJsonObject(i));
      }
    }
    if (mode != ToolChoice.Mode.NONE && (results.isEmpty() || mode != ToolChoice.Mode.AUTO)) {
      JsonArray calls = forced(toolCalls(lastUser, tools, h), choice, tools, h);
      if (!calls.isEmpty()) {
        return new Answer("", calls, input, Tokens.estimate(calls.encode()));
      }
    }
    String reply;
    if (lastUser.startsWith("HEARTBEAT")) {
      long open = lastUser.lines().filter(l -> l.strip().startsWith("- [ ]")).count();
      reply = open == 0 ? "HEARTBEAT_OK" : "Heartbeat: " + open + " open task" + (open == 1 ? "" : "s")
        + " checked: " + lastUser.lines().filter(l -> l.strip().startsWith("- [ ]"))
        .map(l -> l.strip().substring(5).strip()).reduce((a, b) -> a + "; " + b).orElse("") + ".";
    } else if (!results.isEmpty()) {
      StringBuilder sb = new StringBuilder(OPENERS[(int) Long.remainderUnsigned(h, OPENERS.length)]);
      for (JsonObject r : results) {
        String content = r.getString("content", "");
        sb.append(" Tool result: ").append(content.length() > 300 ? content.substring(0, 300) + "..." : content)
          .append('.');
      }
      sb.append(" [sim ").append(String.format("%08x", h & 0xffffffffL)).append(']');
      reply = sb.toString();
    } else {
      reply = reply(lastUser, turns, h);
    }
    String finish = "stop";
    int maxChars = Math.max(4, maxTokens * 4);
    if (reply.length() > maxChars) {
      reply = reply.substring(0, maxChars);
      finish = "length";
    }
    String cut = StopScanner.cut(reply, stop);
    if (cut.length() < reply.length()) {
      reply = cut;
      finish = "stop";
    }
    return new Answer(reply, new JsonArray(), input, Tokens.estimate(reply), finish);
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

  private static JsonArray toolCalls(String text, JsonArray tools, long h) {
    JsonArray calls = new JsonArray();
    Matcher m = TOOL_LINE.matcher(text);
    while (m.find()) {
      JsonObject args;
      try {
        args = m.group(2) == null ? new JsonObject() : new JsonObject(m.group(2));
      } catch (RuntimeException e) {
        args = new JsonObject().put("raw", m.group(2));
      }
      calls.add(call(m.group(1), args, h, calls.size()));
    }
    Matcher remember = REMEMBER.matcher(text);
    if (calls.isEmpty() && remember.find() && offered(tools, "memory.append")) {
      calls.add(call("memory.append", new JsonObject().put("path", "MEMORY.md").put("text", remember.group(1).strip()),
        h, 0));
    }
    return calls;
  }

  /** The calls a forced tool choice makes of the calls the message asked for. */
  private static JsonArray forced(JsonArray asked, ToolChoice choice, JsonArray tools, long h) {
    if (choice == null || choice.mode() == ToolChoice.Mode.AUTO) {
      return asked;
    }
    if (choice.mode() == ToolChoice.Mode.FUNCTION) {
      for (int i = 0; i < asked.size(); i++) {
        if (choice.function().equals(asked.getJsonObject(i).getString("name"))) {
          return new JsonArray().add(asked.getJsonObject(i));
        }
      }
      return new JsonArray().add(call(choice.function(), new JsonObject(), h, 0));
    }
    if (!asked.isEmpty() || tools.isEmpty()) {
      return asked;
    }
    String first = tools.getJsonObject(0).getJsonObject("function", new JsonObject()).getString("name");
    return new JsonArray().add(call(first, new JsonObject(), h, 0));
  }

  private static JsonObject call(String name, JsonObject args, long h, int i) {
    return new JsonObject().put("id", String.format("call_%08x_%d", h & 0xffffffffL, i)).put("name", name)
      .put("arguments", args);
  }

  private static boolean offered(JsonArray tools, String name) {
    for (int i = 0; i < tools.size(); i++) {
      JsonObject fn = tools.getJsonObject(i).getJsonObject("function", new JsonObject());
      if (name.equals(fn.getString("name"))) {
        return true;
      }
    }
    return false;
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

  public static long fnv1a64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return h;
  }

  /** The text in pieces of a few words (their spaces kept), at most {@value #MAX_PIECES} of them. */
  public static List<String> pieces(String text) {
    String[] words = text.split("(?<= )");
    int per = Math.max(PIECE_WORDS, (words.length + MAX_PIECES - 1) / MAX_PIECES);
    List<String> out = new ArrayList<>();
    StringBuilder piece = new StringBuilder();
    for (int i = 0; i < words.length; i++) {
      piece.append(words[i]);
      if ((i + 1) % per == 0 || i == words.length - 1) {
        out.add(piece.toString());
        piece.setLength(0);
      }
    }
    return out;
  }
}
