package dev.agenthub.agents;

import dev.agenthub.protocol.TokenCounter;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Recent turns of the sessions an instance served lately, kept in RAM and bounded both in sessions
 * (least recently used leave first) and in messages per session. A session that left RAM is read
 * back from its transcript in shared memory when it talks again. Each message keeps its token
 * count once taken: a session's history goes to the model turn after turn, and tokenizing it anew
 * each time would be the costliest part of a turn.
 */
final class SessionHistory {

  /** The history that fits a budget, and its tokens. */
  record Recent(JsonArray messages, int tokens) {
  }

  /** One message and its tokens as {@code counter} counts them (-1: not counted yet). */
  private static final class Entry {
    final JsonObject message;
    TokenCounter counter;
    int tokens = -1;

    Entry(JsonObject message) {
      this.message = message;
    }

    int tokens(TokenCounter by) {
      if (tokens < 0 || counter != by) {
        tokens = by.countMessage(message);
        counter = by;
      }
      return tokens;
    }
  }

  /** One session's recent messages and the claim its transcript is written under (null: none yet). */
  private static final class Session extends ArrayDeque<Entry> {
    String claim;
  }

  private final int maxMessages;
  private final Map<String, Session> bySession;

  SessionHistory(int maxSessions, int maxMessages) {
    this.maxMessages = maxMessages;
    this.bySession = new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Session> eldest) {
        return size() > maxSessions;
      }
    };
  }

  /** The session's messages, oldest first, trimmed so their tokens ({@code counter}) fit {@code tokenBudget}. */
  JsonArray recent(String session, int tokenBudget, TokenCounter counter) {
    return recentWithTokens(session, tokenBudget, counter).messages();
  }

  /** As {@link #recent}, with the tokens of what was kept. */
  Recent recentWithTokens(String session, int tokenBudget, TokenCounter counter) {
    ArrayDeque<Entry> messages = bySession.get(session);
    JsonArray out = new JsonArray();
    if (messages == null) {
      return new Recent(out, 0);
    }
    int budget = tokenBudget;
    int used = 0;
    ArrayDeque<JsonObject> kept = new ArrayDeque<>();
    var it = messages.descendingIterator();
    while (it.hasNext()) {
      Entry entry = it.next();
      int tokens = entry.tokens(counter);
      if (tokens > budget) {
        break;
      }
      budget -= tokens;
      used += tokens;
      kept.addFirst(entry.message);
    }
    kept.forEach(out::add);
    return new Recent(out, used);
  }

  boolean has(String session) {
    return bySession.containsKey(session);
  }

  /** Loads a session's history (read back from its transcript), keeping the newest messages. */
  void put(String session, JsonArray messages) {
    put(session, messages, null);
  }

  /** As {@link #put(String, JsonArray)}, with the claim the transcript was read under. */
  void put(String session, JsonArray messages, String claim) {
    Session deque = new Session();
    deque.claim = claim;
    for (int i = Math.max(0, messages.size() - maxMessages); i < messages.size(); i++) {
      deque.addLast(new Entry(messages.getJsonObject(i)));
    }
    bySession.put(session, deque);
  }

  /** The claim the session's transcript is written under, or null. */
  String claim(String session) {
    Session s = bySession.get(session);
    return s == null ? null : s.claim;
  }

  /** Drops a session from RAM: it is read back (and claimed again) when it talks next. */
  void forget(String session) {
    bySession.remove(session);
  }

  /**
   * A turn begun on another instance (its node died) left its user message, and maybe its answer,
   * at the end of the transcript this history was read from: takes them back out, so the turn is
   * continued rather than asked twice. Returns the answer already written, or null.
   */
  String takeDangling(String session, String text) {
    ArrayDeque<Entry> messages = bySession.get(session);
    if (messages == null || messages.isEmpty()) {
      return null;
    }
    Entry last = messages.peekLast();
    String answer = null;
    if ("assistant".equals(last.message.getString("role")) && messages.size() >= 2) {
      Entry before = new ArrayList<>(messages).get(messages.size() - 2);
      if ("user".equals(before.message.getString("role")) && text.equals(before.message.getString("content"))) {
        answer = last.message.getString("content");
        messages.pollLast();
        last = messages.peekLast();
      }
    }
    if ("user".equals(last.message.getString("role")) && text.equals(last.message.getString("content"))) {
      messages.pollLast();
    }
    return answer;
  }

  /**
   * True if the history ends with this question (and maybe its answer): the trace of a turn begun
   * elsewhere (its node died) that this one may continue.
   */
  boolean endsWithQuestion(String session, String text) {
    ArrayDeque<Entry> messages = bySession.get(session);
    if (messages == null || messages.isEmpty()) {
      return false;
    }
    var it = messages.descendingIterator();
    Entry last = it.next();
    if ("assistant".equals(last.message.getString("role"))) {
      if (!it.hasNext()) {
        return false;
      }
      last = it.next();
    }
    return "user".equals(last.message.getString("role")) && text.equals(last.message.getString("content"));
  }

  void add(String session, String role, String content) {
    add(session, new JsonObject().put("role", role).put("content", content));
  }

  /** Adds a chat message as it is (an assistant step with tool calls, a tool result). */
  void add(String session, JsonObject message) {
    ArrayDeque<Entry> messages = bySession.computeIfAbsent(session, s -> new Session());
    messages.addLast(new Entry(message));
    while (messages.size() > maxMessages) {
      messages.pollFirst();
    }
  }

  /** The session's messages in RAM, oldest first (empty when it is not here). */
  JsonArray messages(String session) {
    JsonArray out = new JsonArray();
    ArrayDeque<Entry> messages = bySession.get(session);
    if (messages != null) {
      messages.forEach(e -> out.add(e.message));
    }
    return out;
  }

  /** Takes the newest {@code n} messages back out (a turn sent again finds what it wrote before). */
  void dropLast(String session, int n) {
    ArrayDeque<Entry> messages = bySession.get(session);
    for (int i = 0; i < n && messages != null && !messages.isEmpty(); i++) {
      messages.pollLast();
    }
  }

  int sessions() {
    return bySession.size();
  }
}
