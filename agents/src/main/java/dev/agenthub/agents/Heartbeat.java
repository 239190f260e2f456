package dev.agenthub.agents;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryLayout;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/**
 * An agent's heartbeat: one beat per {@code heartbeat.every} for the agent across the whole cluster
 * (not one per instance), at jittered times so agents do not fire together. A beat reads
 * {@code HEARTBEAT.md}; with no open task it makes no model call at all. Otherwise it asks the routine
 * model with a light context; {@code HEARTBEAT_OK} is dropped, anything else goes to the daily log.
 */
final class Heartbeat {

  static final String OK = "HEARTBEAT_OK";
  private static final String LOCK = "agenthub.heartbeat.";
  private static final String LAST_BEATS = "agenthub.heartbeats";
  private static final Logger LOG = Logger.getLogger(Heartbeat.class.getName());

  private final Vertx vertx;
  private final AgentSpec spec;
  private final MemoryClient memory;
  private final AgentEvents events;
  private final MessageAuth.Signer signer;
  private long timer = -1;
  private boolean beating;

  Heartbeat(Vertx vertx, AgentSpec spec, MemoryClient memory, AgentEvents events, MessageAuth.Signer signer) {
    this.signer = signer;
    this.vertx = vertx;
    this.spec = spec;
    this.memory = memory;
    this.events = events;
  }

  void start() {
    long every = spec.heartbeatMs();
    if (every <= 0) {
      return;
    }
    // check four times an interval: the shared "last beat" decides whether this instance beats
    long period = Math.max(250, every / 4);
    long jitter = ThreadLocalRandom.current().nextLong(period) + 1;
    timer = vertx.setPeriodic(jitter, period, id -> tick());
  }

  void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  private void tick() {
    if (beating) {
      return;
    }
    beating = true;
    vertx.sharedData().getLockWithTimeout(LOCK + spec.id(), 100).compose(lock ->
      vertx.sharedData().<String, Long>getAsyncMap(LAST_BEATS).compose(map -> due(map)).eventually(() -> {
        lock.release();
        return Future.succeededFuture();
      })
    ).compose(due -> due ? beat() : Future.succeededFuture())
      .onComplete(ar -> {
        beating = false;
        if (ar.failed() && !(ar.cause() instanceof VertxException)) {
          LOG.warning("heartbeat of " + spec.id() + " failed: " + ar.cause().getMessage());
        }
      });
  }

  /** True, and the last beat moved to now, if a beat is due (checked under the agent's cluster lock). */
  private Future<Boolean> due(AsyncMap<String, Long> map) {
    long now = System.currentTimeMillis();
    return map.get(spec.id()).compose(last -> {
      if (last != null && now - last < spec.heartbeatMs() - spec.heartbeatMs() / 20) {
        return Future.succeededFuture(false);
      }
      return map.put(spec.id(), now).map(v -> true);
    });
  }

  Future<Void> beat() {
    return memory.read(MemoryLayout.heartbeatChecklist(spec.id())).otherwise("").compose(checklist -> {
      if (!hasTasks(checklist)) {
        events.heartbeat(spec.id(), "skipped");
        return Future.succeededFuture();
      }
      JsonArray messages = new JsonArray()
        .add(ContextSource.message("system", spec.persona()))
        .add(ContextSource.message("user", "HEARTBEAT: go through this checklist. If nothing needs attention, "
          + "answer exactly " + OK + ".\n\n" + checklist));
      ModelCall.Request call = new ModelCall.Request(spec.id(), spec.routineModel(), messages, new JsonArray(),
        spec.limits().outputTokens(), spec.heartbeatBatch() ? Priority.BATCH : Priority.HEARTBEAT);
      long timeout = spec.heartbeatBatch() ? Math.max(spec.limits().turnTimeoutMs(), TurnRunner.BATCH_TIMEOUT_MS)
        : spec.limits().turnTimeoutMs();
      JsonObject body = call.toJson();
      return vertx.eventBus().<JsonObject>request(ModelCall.ADDRESS, body, signer.sign(ModelCall.ADDRESS, body,
          new DeliveryOptions().setSendTimeout(timeout).addHeader("timeout", Long.toString(timeout))))
        .compose(m -> {
          String reply = ModelCall.Reply.fromJson(m.body()).content().strip();
          if (reply.equals(OK)) {
            events.heartbeat(spec.id(), "suppressed");
            return Future.succeededFuture();
          }
          events.heartbeat(spec.id(), "ran");
          return memory.append(MemoryLayout.dailyLog(spec.id(), LocalDate.now(ZoneOffset.UTC)), "heartbeat", reply)
            .mapEmpty();
        });
    });
  }

  /** A task is a list item that is not checked off; headings, prose and blank lines are not. */
  static boolean hasTasks(String checklist) {
    for (String line : checklist.split("\n")) {
      String l = line.strip();
      boolean item = l.startsWith("- ") || l.startsWith("* ") || l.matches("\\d+\\. .*");
      boolean done = l.startsWith("- [x]") || l.startsWith("- [X]") || l.startsWith("* [x]");
      if (item && !done && l.length() > 2) {
        return true;
      }
    }
    return false;
  }
}
