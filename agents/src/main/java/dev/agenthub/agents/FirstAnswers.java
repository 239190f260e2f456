package dev.agenthub.agents;

import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The first answer to each turn key ({@link Turn.Request#turnKey()}), so that a retried turn gets it
 * instead of running again. A retry that comes while the turn runs waits for that turn. A client's
 * own idempotency key keeps its answer for {@code ttlMs} in a shared map, so a retry on any instance
 * gets it; a key the gateway made up only matters while its turn runs (it is sent again only when a
 * node died under it). A failed turn answers none of its retries: each gets a turn of its own. Not
 * thread-safe: it lives on its verticle's context.
 */
final class FirstAnswers {

  private final String agent;
  private final AsyncMap<String, JsonObject> kept;
  private final long ttlMs;
  private final Map<String, Future<Turn.Reply>> recent;

  /**
   * @param agent    the agent whose answers these are (the shared map holds every agent's)
   * @param kept     where clients' keys keep their answers: cluster-wide, or this node's own for a
   *                 sensitive agent
   * @param capacity how many keys this instance remembers, the least recently asked forgotten first
   * @param ttlMs    how long {@code kept} keeps an answer
   */
  FirstAnswers(String agent, AsyncMap<String, JsonObject> kept, int capacity, long ttlMs) {
    this.agent = agent;
    this.kept = kept;
    this.ttlMs = ttlMs;
    this.recent = new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Future<Turn.Reply>> eldest) {
        return size() > capacity;
      }
    };
  }

  /**
   * The answer to {@code request}: the first one if its key was answered (or is being), else what
   * {@code turn} answers.
   *
   * @param resent the turn was sent again after the node running it died: it may have been answered
   */
  Future<Turn.Reply> answer(Turn.Request request, boolean resent, Supplier<Future<Turn.Reply>> turn) {
    String key = request.turnKey();
    if (key == null) {
      return turn.get();
    }
    Future<Turn.Reply> first = recent.get(key);
    if (first != null) {
      return first;
    }
    boolean clientKey = request.clientKey();
    // a client's own key, or a turn sent again after a node died: it may have been answered already
    Future<Turn.Reply> known = clientKey || resent ? lookup(key) : Future.succeededFuture(null);
    Future<Turn.Reply> answer = known.compose(found -> found != null ? Future.succeededFuture(found)
      : turn.get().onSuccess(reply -> {
        if (clientKey) {
          kept.put(keptKey(key), reply.toJson(), ttlMs);
        }
      }));
    recent.put(key, answer);
    answer.onComplete(ar -> {
      if (ar.failed() || !clientKey) {
        recent.remove(key, answer);
      }
    });
    return answer;
  }

  /** The kept answer to {@code key}, or null (none, or the map did not answer). */
  private Future<Turn.Reply> lookup(String key) {
    return kept.get(keptKey(key)).map(json -> json == null ? null : Turn.Reply.fromJson(json))
      .otherwise((Turn.Reply) null);
  }

  private String keptKey(String key) {
    return agent + "|" + key;
  }
}
