package dev.agenthub.governor;

import dev.agenthub.protocol.ToolChoice;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * Exact-match response cache: model + messages + tools + tool choice + max tokens, scoped by trust level (and by
 * agent for sensitive agents, whose private context must never answer another agent). A local
 * Caffeine cache (size and time bounded) in front of a cluster-wide map with the same TTL, so a
 * reply computed on one node answers on every node.
 */
final class ResponseCache {

  static final Duration TTL = Duration.ofMinutes(10);
  private static final int MAX_LOCAL = 10_000;
  private static final int MAX_ENTRY_CHARS = 64 * 1024;

  private final Cache<String, JsonObject> local = Caffeine.newBuilder().maximumSize(MAX_LOCAL)
    .expireAfterWrite(TTL).build();
  private final Vertx vertx;
  private final boolean clustered;
  private AsyncMap<String, JsonObject> shared;

  ResponseCache(Vertx vertx, boolean clustered) {
    this.vertx = vertx;
    this.clustered = clustered;
  }

  Future<Void> start() {
    if (!clustered) {
      return Future.succeededFuture();
    }
    return vertx.sharedData().<String, JsonObject>getAsyncMap("agenthub.response-cache")
      .map(map -> {
        shared = map;
        return null;
      });
  }

  static String key(String scope, String model, JsonArray messages, JsonArray tools, ToolChoice toolChoice,
                    int maxTokens, List<String> stop) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      String choice = toolChoice == null ? "auto" : String.valueOf(toolChoice.toJson());
      for (String part : new String[]{scope, model, messages.encode(), tools.encode(), choice,
        Integer.toString(maxTokens), new JsonArray(stop).encode()}) {
        sha.update(part.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** As {@link #get(String)}; {@code nodeOnly}: never from (or into) the cluster's map (sensitive agents). */
  Future<JsonObject> get(String key, boolean nodeOnly) {
    if (nodeOnly) {
      return Future.succeededFuture(local.getIfPresent(key));
    }
    return get(key);
  }

  void put(String key, JsonObject reply, boolean nodeOnly) {
    if (nodeOnly) {
      local.put(key, reply);
    } else {
      put(key, reply);
    }
  }

  Future<JsonObject> get(String key) {
    JsonObject hit = local.getIfPresent(key);
    if (hit != null || shared == null) {
      return Future.succeededFuture(hit);
    }
    return shared.get(key).map(v -> {
      if (v != null) {
        local.put(key, v);
      }
      return v;
    }).otherwise((JsonObject) null);
  }

  void put(String key, JsonObject reply) {
    if (reply.encode().length() > MAX_ENTRY_CHARS) {
      return;
    }
    local.put(key, reply);
    if (shared != null) {
      shared.put(key, reply, TTL.toMillis());
    }
  }
}
