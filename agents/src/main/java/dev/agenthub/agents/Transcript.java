package dev.agenthub.agents;

import dev.agenthub.memory.MemoryLayout;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A session transcript in shared memory ({@link MemoryLayout#transcript} says where), one
 * {@code ## <ISO time> user|assistant|tool|approval|tool_calls|tool_result} entry per step. Parsed back
 * into chat history when a session comes back into RAM.
 */
final class Transcript {

  private static final Pattern ENTRY =
    Pattern.compile("(?m)^## \\S+ (user|assistant|tool_calls|tool_result|tool|approval)\\n\\n");

  private Transcript() {
  }

  /**
   * User and assistant messages, oldest first; the agent's own tool steps stay in the file, not in the
   * history; a step that called the client's tools and the client's results come back as chat
   * messages ({@link ClientTools}).
   */
  static JsonArray parse(String text) {
    JsonArray out = new JsonArray();
    Matcher m = ENTRY.matcher(text);
    String role = null;
    int start = -1;
    while (m.find()) {
      if (role != null) {
        add(out, role, text.substring(start, m.start()));
      }
      role = m.group(1);
      start = m.end();
    }
    if (role != null) {
      add(out, role, text.substring(start));
    }
    return out;
  }

  private static void add(JsonArray out, String role, String body) {
    if (role.equals("tool") || role.equals("approval")) {
      return;
    }
    // the store escaped headings inside entries with a backslash
    String content = body.strip().replaceAll("(?m)^\\\\(#{1,2} )", "$1");
    if (role.equals(ClientTools.STEP_ENTRY) || role.equals(ClientTools.RESULT_ENTRY)) {
      ClientTools.read(role, content, out);
      return;
    }
    out.add(new JsonObject().put("role", role).put("content", content));
  }
}
