package dev.agenthub.agents;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Recent turns of the sessions an instance served lately, kept in RAM and bounded both in sessions
 * (least recently used leave first) and in messages per session. A session that left RAM is read
 * back from its transcript in shared memory when it talks again.
 */
final class SessionHistory {

  private final int maxMessages;
  private final Map<String, ArrayDeque<JsonObject>> bySession;

  SessionHistory(int maxSessions, int maxMessages) {
    this.maxMessages = maxMessages;
    this.bySession = new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, ArrayDeque<JsonObject>> eldest) {
        return size() > maxSessions;
      }
    };
  }

  /** The session's messages, oldest first, trimmed so their tokens ({@code counter}) fit {@code tokenBudget}. */
  JsonArray recent(String session, int tokenBudget, TokenCounter counter) {
    ArrayDeque<JsonObject> messages = bySession.get(session);
    JsonArray out = new JsonArray();
    if (messages == null) {
      return out;
    }
    int budget = tokenBudget;
    ArrayDeque<JsonObject> kept = new ArrayDeque<>();
    var it = messages.descendingIterator();
    while (it.hasNext()) {
      JsonObject message = it.next();
      budget -= counter.countMessage(message);
      if (budget < 0) {
        break;
      }
      kept.addFirst(message);
    }
    kept.forEach(out::add);
    return out;
  }

  boolean has(String session) {
    return bySession.containsKey(session);
  }

  /** Loads a session's history (read back from its transcript), keeping the newest messages. */
  void put(String session, JsonArray messages) {
    ArrayDeque<JsonObject> deque = new ArrayDeque<>();
    for (int i = Math.max(0, messages.size() - maxMessages); i < messages.size(); i++) {
      deque.addLast(messages.getJsonObject(i));
    }
    bySession.put(session, deque);
  }

  void add(String session, String role, String content) {
    ArrayDeque<JsonObject> messages = bySession.computeIfAbsent(session, s -> new ArrayDeque<>());
    messages.addLast(new JsonObject().put("role", role).put("content", content));
    while (messages.size() > maxMessages) {
      messages.pollFirst();
    }
  }

  int sessions() {
    return bySession.size();
  }
}
