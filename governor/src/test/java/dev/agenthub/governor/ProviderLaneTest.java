package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;
import dev.agenthub.protocol.TokenCounter;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One provider's lane with its real key pool, limiters, queue and circuit, and a scripted provider:
 * which failures move a call to another key, which end it, and in what order waiting calls go out.
 * ({@link GovernorPartsTest} has the lane's retry hints and backoff.)
 */
@ExtendWith(VertxExtension.class)
class ProviderLaneTest {

  private static final HubConfig.Model MODEL = new HubConfig.Model("m", "p", "gpt-4o-mini", 0.15, 0.60, List.of());
  private static final ModelCall.Usage USAGE = new ModelCall.Usage(20, 0, 0, 5, 0);

  private final RecordingEvents events = new RecordingEvents();
  private Context context;

  @BeforeEach
  void context(Vertx vertx) {
    context = vertx.getOrCreateContext();
  }

  private static HubConfig.Key key(String id, int rpm) {
    return new HubConfig.Key(id, "PATH", null, rpm, 10_000_000);
  }

  private static HubConfig.Provider provider(int maxRetries, int maxConnections, int maxWaiting,
                                             HubConfig.Circuit circuit, HubConfig.Key... keys) {
    return new HubConfig.Provider("p", HubConfig.ProviderType.OPENAI, "http://127.0.0.1:1/v1", false, 0,
      List.of(keys), 10_000, maxRetries, maxConnections, maxWaiting, HubConfig.Http2.AUTO, circuit, null);
  }

  /** A lane whose keys' secrets are {@code sk-<key id>}. */
  private ProviderLane lane(Vertx vertx, HubConfig.Provider provider, ProviderClient client) {
    Map<String, String> secrets = new HashMap<>();
    provider.keys().forEach(k -> secrets.put(k.id(), "sk-" + k.id()));
    KeyPool pool = new KeyPool(provider.id(), provider.keys(), secrets, rates -> key -> new LocalLimiter(rates));
    return new ProviderLane(vertx, provider, pool, client, events, agent -> 1);
  }

  private static ProviderLane.Handle call(ProviderLane lane, Priority priority, String text, Consumer<String> deltas) {
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", text));
    return lane.call("support", priority, MODEL, messages, new JsonArray(), null, 100, List.of(),
      System.nanoTime() + 30_000_000_000L, deltas, TokenCounter.ESTIMATE, 0);
  }

  private static KeyPool.KeyState keyState(ProviderLane lane, String id) {
    return lane.pool().keys().stream().filter(k -> k.id.equals(id)).findFirst().orElseThrow();
  }

  private static String text(ProviderClient.Call call) {
    return call.messages().getJsonObject(0).getString("content");
  }

  private void onContext(Runnable step) {
    context.runOnContext(v -> step.run());
  }

  @Test
  void aRateLimitedKeyCoolsDownAsToldAndTheCallMovesToTheNextKey(Vertx vertx, VertxTestContext test) {
    ScriptedProvider client = new ScriptedProvider(call -> Future.succeededFuture(call.secret().equals("sk-a")
      ? ProviderClient.Result.failure(429, MultiMap.caseInsensitiveMultiMap().add("Retry-After", "30"), "slow down", null)
      : ScriptedProvider.ok("hello", USAGE)));
    ProviderLane lane = lane(vertx, provider(2, 10, 10, HubConfig.Circuit.DEFAULT, key("a", 6000), key("b", 6000)),
      client);
    onContext(() -> call(lane, Priority.INTERACTIVE, "hi", null).result()
      .onComplete(test.succeeding(result -> test.verify(() -> {
        assertThat(result.keyId()).isEqualTo("b");
        assertThat(result.content()).isEqualTo("hello");
        assertThat(client.calls).extracting(ProviderClient.Call::secret).containsExactly("sk-a", "sk-b");
        // Retry-After: 30 is honoured (less the time the retry took)
        assertThat(keyState(lane, "a").coolUntil - System.nanoTime()).isGreaterThan(20_000_000_000L);
        assertThat(lane.load()[0]).as("in flight").isZero();
        test.completeNow();
      }))));
  }

  @Test
  void aKeyTheProviderRefusesLeavesThePoolUntilAnAdminPutsItBack(Vertx vertx, VertxTestContext test) {
    ScriptedProvider client = new ScriptedProvider(call -> Future.succeededFuture(call.secret().equals("sk-a")
      ? ScriptedProvider.status(401, null) : ScriptedProvider.ok("hello", USAGE)));
    ProviderLane lane = lane(vertx, provider(0, 10, 10, HubConfig.Circuit.DEFAULT, key("a", 6000), key("b", 6000)),
      client);
    onContext(() -> call(lane, Priority.INTERACTIVE, "hi", null).result()
      .onComplete(test.succeeding(result -> test.verify(() -> {
        // a refused key is not a retry: the call goes to the next key even with no retries allowed
        assertThat(result.keyId()).isEqualTo("b");
        assertThat(keyState(lane, "a").disabled).isTrue();
        assertThat(events.audits).containsExactly("key_disabled");
        assertThat(lane.enable("nope")).isFalse();
        assertThat(lane.enable("a")).isTrue();
        assertThat(keyState(lane, "a").disabled).isFalse();
        test.completeNow();
      }))));
  }

  @Test
  void aRequestTheProviderRefusesIsNotRetried(Vertx vertx, VertxTestContext test) {
    ScriptedProvider client = new ScriptedProvider(call -> Future.succeededFuture(ScriptedProvider.status(400,
      "max_tokens")));
    ProviderLane lane = lane(vertx, provider(4, 10, 10, HubConfig.Circuit.DEFAULT, key("a", 6000), key("b", 6000)),
      client);
    onContext(() -> call(lane, Priority.INTERACTIVE, "hi", null).result()
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOfSatisfying(ProviderLane.Rejected.class, r -> {
          assertThat(r.status).isEqualTo(400);
          assertThat(r.param).isEqualTo("max_tokens");
        });
        assertThat(client.calls).hasSize(1);
        // the provider answered: it is up, whatever it thought of the request
        assertThat(lane.circuit()).isEqualTo(CircuitBreaker.State.CLOSED);
        test.completeNow();
      }))));
  }

  @Test
  void aStreamThatBreaksIsNeverRetried(Vertx vertx, VertxTestContext test) {
    ScriptedProvider client = new ScriptedProvider(call -> {
      call.deltas().accept("Hel");
      return Future.succeededFuture(ScriptedProvider.status(503, null));
    });
    ProviderLane lane = lane(vertx, provider(4, 10, 10, HubConfig.Circuit.DEFAULT, key("a", 6000), key("b", 6000)),
      client);
    List<String> pieces = new ArrayList<>();
    onContext(() -> call(lane, Priority.INTERACTIVE, "hi", pieces::add).result()
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOf(ProviderLane.StreamBroken.class).hasMessageContaining("HTTP 503");
        assertThat(client.calls).hasSize(1);
        assertThat(pieces).containsExactly("Hel");
        test.completeNow();
      }))));
  }

  @Test
  void aFailingProviderOpensItsCircuitAndThenCallsFailAtOnce(Vertx vertx, VertxTestContext test) {
    ScriptedProvider client = ScriptedProvider.failing(500);
    ProviderLane lane = lane(vertx, provider(0, 10, 10, new HubConfig.Circuit(2, 60_000), key("a", 6000)), client);
    onContext(() -> call(lane, Priority.INTERACTIVE, "one", null).result()
      .recover(err -> call(lane, Priority.INTERACTIVE, "two", null).result())
      .recover(err -> {
        test.verify(() -> assertThat(lane.circuit()).isEqualTo(CircuitBreaker.State.OPEN));
        return call(lane, Priority.INTERACTIVE, "three", null).result();
      })
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOf(ProviderLane.NoCapacity.class).hasMessageContaining("circuit is open");
        // the third call never reached the provider: the fallbacks can have it at once
        assertThat(client.calls).extracting(ProviderLaneTest::text).containsExactly("one", "two");
        test.completeNow();
      }))));
  }

  @Test
  void aBusyProviderQueuesUpToMaxWaitingAndServesInteractiveCallsFirst(Vertx vertx, VertxTestContext test) {
    List<Promise<ProviderClient.Result>> answers = new ArrayList<>();
    ScriptedProvider client = new ScriptedProvider(call -> {
      Promise<ProviderClient.Result> answer = Promise.promise();
      answers.add(answer);
      return answer.future();
    });
    // one call in flight at a time, two more may wait
    ProviderLane lane = lane(vertx, provider(0, 1, 2, HubConfig.Circuit.DEFAULT, key("a", 6000)), client);
    onContext(() -> {
      Future<ProviderClient.Result> first = call(lane, Priority.INTERACTIVE, "first", null).result();
      Future<ProviderClient.Result> batch = call(lane, Priority.BATCH, "batch", null).result();
      Future<ProviderClient.Result> urgent = call(lane, Priority.INTERACTIVE, "urgent", null).result();
      Future<ProviderClient.Result> refused = call(lane, Priority.INTERACTIVE, "refused", null).result();
      test.verify(() -> {
        assertThat(refused.cause()).isInstanceOf(ProviderLane.NoCapacity.class).hasMessageContaining("max-waiting");
        assertThat(events.refused).containsExactly("provider_queue");
        assertThat(lane.load()).containsExactly(1, 2, 1);
      });
      for (int i = 0; i < 3; i++) {
        answers.get(i).complete(ScriptedProvider.ok("answer " + i, USAGE));
      }
      Future.all(first, batch, urgent).onComplete(test.succeeding(all -> test.verify(() -> {
        // the interactive call that came last went out before the batch call
        assertThat(client.calls).extracting(ProviderLaneTest::text).containsExactly("first", "urgent", "batch");
        assertThat(lane.load()).containsExactly(0, 0, 1);
        test.completeNow();
      })));
    });
  }

  @Test
  void aCallWaitingForAKeyCanBeCancelledAndNeverReachesTheProvider(Vertx vertx, VertxTestContext test) {
    ScriptedProvider client = ScriptedProvider.answering("hello", USAGE);
    // one request a minute: the first call takes it, the second waits for the next
    ProviderLane lane = lane(vertx, provider(0, 10, 10, HubConfig.Circuit.DEFAULT, key("a", 1)), client);
    onContext(() -> call(lane, Priority.INTERACTIVE, "first", null).result()
      .compose(first -> {
        ProviderLane.Handle waiting = call(lane, Priority.INTERACTIVE, "second", null);
        test.verify(() -> assertThat(lane.load()[1]).as("waiting").isEqualTo(1));
        waiting.cancel();
        return waiting.result();
      })
      .onComplete(test.succeeding(second -> test.verify(() -> {
        assertThat(second.finishReason()).isEqualTo(ModelCall.CANCELLED);
        assertThat(second.usage()).isEqualTo(ModelCall.Usage.NONE);
        assertThat(client.calls).extracting(ProviderLaneTest::text).containsExactly("first");
        test.completeNow();
      }))));
  }
}
