package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.multipart.MultipartForm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The batch lane of an OpenAI-compatible provider: batch-priority calls are collected for a short
 * window, uploaded as one JSON-lines file ({@code POST /files}), run as a batch ({@code POST
 * /batches}), polled until done, and their answers handed back by {@code custom_id}. The provider
 * bills batches at half price, and so does the ledger.
 */
final class BatchLane {

  /** Batch work is billed at this share of the normal price. */
  static final double PRICE_FACTOR = 0.5;
  private static final long WINDOW_MS = 1_000;
  private static final int MAX_ITEMS = 500;
  private static final long POLL_MS = 1_000;
  private static final Logger LOG = Logger.getLogger(BatchLane.class.getName());

  private record Item(String id, HubConfig.Model model, JsonArray messages, JsonArray tools, int maxTokens,
                      Promise<ProviderClient.Result> promise) {
  }

  private final Vertx vertx;
  private final WebClient web;
  private final String base;
  private final HubConfig.Provider provider;
  private final KeyPool pool;
  private final List<Item> pending = new ArrayList<>();
  private long timer = -1;
  private long counter;

  BatchLane(Vertx vertx, HttpClient http, HubConfig.Provider provider, KeyPool pool) {
    this.vertx = vertx;
    this.web = WebClient.wrap(http);
    this.base = ProviderClient.endpoint(provider.baseUrl(), "");
    this.provider = provider;
    this.pool = pool;
  }

  Future<ProviderClient.Result> submit(HubConfig.Model model, JsonArray messages, JsonArray tools, int maxTokens) {
    Promise<ProviderClient.Result> promise = Promise.promise();
    pending.add(new Item("req-" + (++counter), model, messages, tools, maxTokens, promise));
    if (pending.size() >= MAX_ITEMS) {
      flush();
    } else if (timer < 0) {
      timer = vertx.setTimer(WINDOW_MS, id -> flush());
    }
    return promise.future();
  }

  private void flush() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    if (pending.isEmpty()) {
      return;
    }
    List<Item> items = new ArrayList<>(pending);
    pending.clear();
    KeyPool.KeyState key = pool.keys().stream().filter(k -> !k.disabled).findFirst().orElse(null);
    if (key == null) {
      items.forEach(i -> i.promise().fail(new ProviderLane.NoCapacity("no usable key for the batch API of "
        + provider.id())));
      return;
    }
    StringBuilder jsonl = new StringBuilder();
    Map<String, Item> byId = new HashMap<>();
    for (Item i : items) {
      byId.put(i.id(), i);
      JsonObject body = new JsonObject().put("model", i.model().name())
        .put("messages", OpenAiClient.outgoing(i.messages())).put(i.model().tokenParam(), i.maxTokens());
      if (!i.tools().isEmpty()) {
        body.put("tools", OpenAiClient.outgoingTools(i.tools()));
      }
      jsonl.append(new JsonObject().put("custom_id", i.id()).put("method", "POST").put("url", "/v1/chat/completions")
        .put("body", body).encode()).append('\n');
    }
    String auth = "Bearer " + key.secret;
    MultipartForm form = MultipartForm.create().attribute("purpose", "batch")
      .textFileUpload("file", "agenthub-batch.jsonl", Buffer.buffer(jsonl.toString()), "application/jsonl");
    web.postAbs(base + "/files").putHeader("Authorization", auth).sendMultipartForm(form)
      .compose(resp -> ok(resp.statusCode()) ? Future.succeededFuture(resp.bodyAsJsonObject().getString("id"))
        : Future.failedFuture(new ProviderLane.Rejected(resp.statusCode(), "batch upload answered " + resp.statusCode(), null)))
      .compose(fileId -> web.postAbs(base + "/batches").putHeader("Authorization", auth)
        .sendJsonObject(new JsonObject().put("input_file_id", fileId).put("endpoint", "/v1/chat/completions")
          .put("completion_window", "24h")))
      .compose(resp -> ok(resp.statusCode()) ? poll(auth, resp.bodyAsJsonObject().getString("id"))
        : Future.failedFuture(new ProviderLane.Rejected(resp.statusCode(), "batch create answered " + resp.statusCode(), null)))
      .compose(outputFile -> web.getAbs(base + "/files/" + outputFile + "/content").putHeader("Authorization", auth).send())
      .onSuccess(resp -> deliver(resp.bodyAsString(), byId))
      .onFailure(err -> {
        LOG.warning("batch of " + items.size() + " calls on " + provider.id() + " failed: " + err.getMessage());
        byId.values().forEach(i -> i.promise().tryFail(err));
      });
  }

  private Future<String> poll(String auth, String batchId) {
    return web.getAbs(base + "/batches/" + batchId).putHeader("Authorization", auth).send().compose(resp -> {
      JsonObject batch = resp.bodyAsJsonObject();
      String status = batch == null ? "unknown" : batch.getString("status", "unknown");
      switch (status) {
        case "completed":
          return Future.succeededFuture(batch.getString("output_file_id"));
        case "failed":
        case "expired":
        case "cancelled":
          return Future.failedFuture(new ProviderLane.Rejected(502, "batch " + batchId + " ended " + status, null));
        default:
          Promise<String> later = Promise.promise();
          vertx.setTimer(POLL_MS, id -> poll(auth, batchId).onComplete(later));
          return later.future();
      }
    });
  }

  private void deliver(String output, Map<String, Item> byId) {
    try {
      deliverLines(output, byId);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "batch output of " + provider.id() + " could not be read", e);
    } finally {
      // whatever went wrong above, no call of this batch waits on: what was not answered fails now
      byId.values().forEach(i -> i.promise().tryFail(new ProviderLane.Rejected(502, "batch output had no answer for "
        + i.id(), null)));
    }
  }

  private void deliverLines(String output, Map<String, Item> byId) {
    for (String line : output.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      JsonObject result;
      try {
        result = new JsonObject(line);
      } catch (RuntimeException e) {
        LOG.warning("batch output of " + provider.id() + ": a line is not JSON; skipped");
        continue;
      }
      Item item = byId.remove(result.getString("custom_id"));
      if (item == null) {
        continue;
      }
      JsonObject response = result.getJsonObject("response", new JsonObject());
      if (response.getInteger("status_code", 500) != 200) {
        item.promise().fail(new ProviderLane.Rejected(502, "batch item answered " + response.getInteger("status_code"), null));
        continue;
      }
      try {
        item.promise().complete(OpenAiClient.answer(MultiMap.caseInsensitiveMultiMap(), response.getJsonObject("body"))
          .withKey("batch"));
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "batch output of " + provider.id() + ": the answer of " + item.id()
          + " could not be read", e);
        item.promise().fail(new ProviderLane.Rejected(502, "batch item answer could not be read", null));
      }
    }
  }

  private static boolean ok(int status) {
    return status / 100 == 2;
  }
}
