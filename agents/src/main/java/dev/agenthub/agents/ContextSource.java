package dev.agenthub.agents;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryLayout;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds an agent's system prompt from its files: persona, {@code MEMORY.md}, its {@code SKILL.md}
 * instructions, the shared files it may read and today's daily log, each capped, the whole within
 * half of the context budget. Cached until a relevant file changes ({@code memory.changed}) or the
 * cache ages out.
 */
final class ContextSource {

  static final int FILE_CAP_CHARS = 6_000;
  private static final int MAX_SHARED_FILES = 8;
  private static final long MAX_AGE_MS = 30_000;

  private final AgentSpec spec;
  private final MemoryClient memory;
  private Future<String> cached;
  private long builtAt;

  ContextSource(AgentSpec spec, MemoryClient memory) {
    this.spec = spec;
    this.memory = memory;
  }

  /** Drops the cached prompt if {@code path} is one of its sources. */
  void changed(String path) {
    if (path == null || MemoryLayout.inSessions(path)) {
      return;
    }
    if (path.startsWith(MemoryLayout.agentDir(spec.id()) + "/") || spec.memoryRead().stream().anyMatch(p -> path.startsWith(p + "/"))
      || spec.memoryWrite().stream().anyMatch(p -> path.startsWith(p + "/"))) {
      cached = null;
    }
  }

  Future<String> systemPrompt() {
    if (cached == null || System.currentTimeMillis() - builtAt > MAX_AGE_MS || cached.failed()) {
      builtAt = System.currentTimeMillis();
      cached = build();
    }
    return cached;
  }

  private Future<String> build() {
    String notes = MemoryLayout.notes(spec.id());
    List<Future<String>> parts = new ArrayList<>();
    parts.add(section("Your long-term notes (" + notes + ")", memory.read(notes), false));
    parts.add(skillInstructions());
    for (String prefix : spec.memoryRead()) {
      parts.add(memory.list(prefix + "/").compose(list -> {
        JsonArray files = list.getJsonArray("files");
        List<Future<String>> reads = new ArrayList<>();
        for (int i = 0; i < Math.min(MAX_SHARED_FILES, files.size()); i++) {
          String path = files.getJsonObject(i).getString("path");
          reads.add(section("Shared file " + path, memory.read(path), true));
        }
        return Future.join(reads).transform(ar -> Future.succeededFuture(join(reads)));
      }).otherwise(""));
    }
    String today = MemoryLayout.dailyLog(spec.id(), LocalDate.now(ZoneOffset.UTC));
    parts.add(section("Today's log (" + today + ")", memory.read(today), true));
    return Future.join(parts).transform(ar -> {
      StringBuilder sb = new StringBuilder(spec.persona());
      String files = join(parts);
      int cap = spec.limits().contextTokens() * 4 / 2;
      if (!files.isEmpty()) {
        sb.append("\n\n").append(files.length() > cap ? files.substring(0, cap) + "\n[context truncated]" : files);
      }
      return Future.succeededFuture(sb.toString());
    });
  }

  private Future<String> skillInstructions() {
    return memory.list(MemoryLayout.skillsDir(spec.id())).compose(list -> {
      JsonArray files = list.getJsonArray("files");
      List<Future<String>> reads = new ArrayList<>();
      for (int i = 0; i < files.size(); i++) {
        String path = files.getJsonObject(i).getString("path");
        if (MemoryLayout.isSkillInstructions(path)) {
          reads.add(memory.read(path).map(ContextSource::skill));
        }
      }
      return Future.join(reads).transform(ar -> {
        String all = join(reads);
        return Future.succeededFuture(all.isEmpty() ? "" : "# Skills\n\n" + all);
      });
    }).otherwise("");
  }

  /** A SKILL.md: YAML front matter with name and description, instructions in the body. */
  static String skill(String text) {
    String name = "unnamed";
    String description = "";
    String body = text;
    if (text.startsWith("---\n")) {
      int end = text.indexOf("\n---", 4);
      if (end > 0) {
        for (String line : text.substring(4, end).split("\n")) {
          int colon = line.indexOf(':');
          if (colon > 0) {
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip().replaceAll("^[\"']|[\"']$", "");
            if (key.equals("name")) {
              name = value;
            } else if (key.equals("description")) {
              description = value;
            }
          }
        }
        body = text.substring(Math.min(text.length(), end + 4)).strip();
      }
    }
    String capped = body.length() > FILE_CAP_CHARS ? body.substring(0, FILE_CAP_CHARS) + "\n[truncated]" : body;
    return "## " + name + (description.isEmpty() ? "" : ": " + description) + "\n\n" + capped + "\n";
  }

  private static Future<String> section(String title, Future<String> text, boolean tail) {
    return text.map(t -> {
      if (t.isBlank()) {
        return "";
      }
      String capped = t.length() <= FILE_CAP_CHARS ? t
        : tail ? "[earlier part omitted]\n" + t.substring(t.length() - FILE_CAP_CHARS)
        : t.substring(0, FILE_CAP_CHARS) + "\n[truncated]";
      return "# " + title + "\n\n" + capped.strip() + "\n";
    }).recover(err -> err instanceof Failure e && e.kind() == Failure.Kind.NOT_FOUND
      ? Future.succeededFuture("") : Future.succeededFuture(""));
  }

  private static String join(List<Future<String>> parts) {
    StringBuilder sb = new StringBuilder();
    for (Future<String> f : parts) {
      if (f.succeeded() && f.result() != null && !f.result().isEmpty()) {
        if (!sb.isEmpty()) {
          sb.append('\n');
        }
        sb.append(f.result());
      }
    }
    return sb.toString();
  }

  static JsonObject message(String role, String content) {
    return new JsonObject().put("role", role).put("content", content);
  }
}
