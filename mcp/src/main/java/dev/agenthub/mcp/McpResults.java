package dev.agenthub.mcp;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A {@code tools/call} result as the text the model reads: text blocks as they are, images and
 * audio as a line saying what they were (the model gets no bytes it cannot use), resource links and
 * embedded resources by their URI (an embedded text resource with its text), the structured content
 * as JSON when no text block says it already; cut at the server's {@code max-result} with a note.
 */
final class McpResults {

  private McpResults() {
  }

  static String text(JsonObject result, int maxChars) {
    StringBuilder out = new StringBuilder();
    JsonArray content = result.getJsonArray("content", new JsonArray());
    for (int i = 0; i < content.size(); i++) {
      if (!(content.getValue(i) instanceof JsonObject block)) {
        continue;
      }
      if (out.length() > 0) {
        out.append('\n');
      }
      String type = block.getString("type", "");
      switch (type) {
        case "text" -> out.append(block.getString("text", ""));
        case "image", "audio" -> out.append('[').append(type).append(", ").append(block.getString("mimeType", "?"))
          .append(", ").append(base64Bytes(block.getString("data", ""))).append(" bytes]");
        case "resource_link" -> out.append("[resource link: ").append(block.getString("uri", "?"))
          .append(block.containsKey("name") ? " (" + block.getString("name") + ")" : "").append(']');
        case "resource" -> {
          JsonObject r = block.getJsonObject("resource", new JsonObject());
          if (r.getString("text") != null) {
            out.append("[resource ").append(r.getString("uri", "?")).append("]\n").append(r.getString("text"));
          } else {
            out.append("[resource: ").append(r.getString("uri", "?")).append(", ")
              .append(r.getString("mimeType", "binary")).append(']');
          }
        }
        default -> out.append("[").append(type.isEmpty() ? "unknown" : type).append(" content]");
      }
    }
    Object structured = result.getValue("structuredContent");
    if (out.length() == 0 && structured != null) {
      out.append(structured instanceof JsonObject json ? json.encode() : String.valueOf(structured));
    }
    if (out.length() == 0) {
      out.append("(no content)");
    }
    return cut(out.toString(), maxChars);
  }

  /** At most {@code maxChars}, with a note saying how much was cut. */
  static String cut(String text, int maxChars) {
    if (text.length() <= maxChars) {
      return text;
    }
    return text.substring(0, maxChars) + "\n[cut: " + (text.length() - maxChars)
      + " more characters; the result is longer than the server's max-result]";
  }

  private static long base64Bytes(String data) {
    return data.length() * 3L / 4;
  }
}
