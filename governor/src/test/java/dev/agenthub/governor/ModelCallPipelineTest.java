package dev.agenthub.governor;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.governor.ledger.LedgerVerticle;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The model-call pipeline without a cluster, HTTP or a verticle: real lanes, key pools, cache,
 * admission and budget counters on one Vert.x context; scripted providers in place of the outside
 * world; the ledger a consumer on its real address.
 */
@ExtendWith(VertxExtension.class)
class ModelCallPipelineTest {

  private static final byte[] SECRET = "pipeline-test-secret".getBytes(StandardCharsets.UTF_8);
  private static final String NODE = MessageAuth.nodePrincipal("p1");
  private static final String STREAM = "test.stream";

  private final RecordingEvents events = new RecordingEvents();
  private final List<JsonObject> ledger = new CopyOnWriteArrayList<>();
  private final List<String> ledgerSigners = new CopyOnWriteArrayList<>();
  private Context context;

  @BeforeEach
  void ledger(Vertx vertx) {
    MessageAuth.Verifier verifier = new MessageAuth.Verifier(SECRET);
    vertx.eventBus().<JsonObject>localConsumer(LedgerVerticle.RECORD, m -> {
      ledger.add(m.body());
      ledgerSigners.add(verifier.verifyLocal(m));
      m.reply(new JsonObject());
    }).completion().await();
    context = vertx.getOrCreateContext();
  }

  /**
   * Two providers, {@code flaky} and {@code backup}, one key each and no retries; {@code primary}
   * falls back to {@code spare}. {@code support} never uses the response cache, {@code billing} does.
   */
  private static HubConfig config(String extra) {
    return ConfigLoader.parse(HubYaml.node("p1", "general") + HubYaml.memoryYaml(Fixtures.freshDir())
      + "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\n" + """
      providers:
        flaky: { type: openai, base-url: "http://127.0.0.1:1/v1", max-retries: 0,
                 keys: [ { id: a, secret-env: PATH, rpm: 6000, tpm: 10000000 } ] }
        backup: { type: openai, base-url: "http://127.0.0.1:1/v1", max-retries: 0,
                  keys: [ { id: b, secret-env: PATH, rpm: 6000, tpm: 10000000 } ] }
      models:
        primary: { provider: flaky, name: gpt-4o, input: 2.50, output: 10.00, fallbacks: [spare] }
        spare: { provider: backup, name: gpt-4o-mini, input: 0.15, output: 0.60, cached-input: 0.075 }
      agents:
        - { id: support, models: { routine: spare, complex: primary }, cache: false }
        - { id: billing, models: { routine: spare, complex: primary } }
      """ + extra);
  }

  /** The pipeline as the governor wires it, each provider's lane calling its scripted client. */
  private ModelCallPipeline pipeline(Vertx vertx, HubConfig config, Map<String, ProviderClient> providers) {
    TokenCounters counters = new TokenCounters(config);
    Map<String, ProviderLane> lanes = new HashMap<>();
    providers.forEach((id, client) -> {
      HubConfig.Provider p = config.providers().get(id);
      Map<String, String> secrets = new HashMap<>();
      p.keys().forEach(k -> secrets.put(k.id(), "sk-" + k.id()));
      KeyPool pool = new KeyPool(id, p.keys(), secrets, rates -> key -> new LocalLimiter(rates));
      lanes.put(id, new ProviderLane(vertx, p, pool, client, events, agent -> 1));
    });
    Admission admission = new Admission(config, events, new BudgetCounters(vertx, null), counters, Map.of());
    return new ModelCallPipeline(vertx, config, events, admission, new ResponseCache(vertx, false),
      new ModelDispatch(vertx, config, events, counters, lanes, Map.of()), MessageAuth.Signer.of(SECRET, NODE));
  }

  private static ModelCall.Request request(String agent, String model, String text, ModelCall.Stream stream) {
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", text));
    return new ModelCall.Request(agent, model, messages, new JsonArray(), 100, Priority.INTERACTIVE, List.of(), stream,
      0, null, null);
  }

  private static long deadline() {
    return System.nanoTime() + 30_000_000_000L;
  }

  /** Runs {@code step} on one context, as the governor drives the pipeline on its own. */
  private void onContext(Runnable step) {
    context.runOnContext(v -> step.run());
  }

  @Test
  void aProviderThatFailsHandsTheCallToTheNextModel(Vertx vertx, VertxTestContext test) {
    ScriptedProvider flaky = ScriptedProvider.failing(503);
    ScriptedProvider backup = ScriptedProvider.answering("from the spare", new ModelCall.Usage(40, 0, 0, 5, 0));
    ModelCallPipeline pipeline = pipeline(vertx, config(""), Map.of("flaky", flaky, "backup", backup));
    onContext(() -> pipeline.call(request("support", "primary", "hello", null), deadline())
      .onComplete(test.succeeding(reply -> test.verify(() -> {
        assertThat(reply.content()).isEqualTo("from the spare");
        assertThat(reply.model()).isEqualTo("spare");
        assertThat(reply.keyId()).isEqualTo("backup/b");
        assertThat(flaky.calls).hasSize(1);
        assertThat(backup.calls).hasSize(1);
        assertThat(backup.calls.get(0).secret()).isEqualTo("sk-b");
        assertThat(events.fallbacks).containsExactly("primary -> spare");
        assertThat(events.modelCalls).containsExactly("primary error", "spare ok");
        test.completeNow();
      }))));
  }

  @Test
  void theLedgerGetsOneRowPerAnsweredCallNotOnePerAttempt(Vertx vertx, VertxTestContext test) {
    AtomicInteger backupCalls = new AtomicInteger();
    // the spare answers its first call and fails the next
    ScriptedProvider backup = new ScriptedProvider(call -> Future.succeededFuture(backupCalls.getAndIncrement() == 0
      ? ScriptedProvider.ok("from the spare", new ModelCall.Usage(40, 0, 0, 5, 0)) : ScriptedProvider.status(500, null)));
    ModelCallPipeline pipeline = pipeline(vertx, config(""),
      Map.of("flaky", ScriptedProvider.failing(503), "backup", backup));
    onContext(() -> pipeline.call(request("support", "primary", "first", null), deadline())
      .compose(answered -> {
        test.verify(() -> assertThat(ledger).hasSize(1));
        return pipeline.call(request("support", "primary", "second", null), deadline());
      })
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOfSatisfying(Failure.class,
          f -> assertThat(f.kind()).isEqualTo(Failure.Kind.MODEL_ERROR));
        // two attempts for each call, one row for the answered call, none for the failed one
        assertThat(events.modelCalls).hasSize(4);
        assertThat(ledger).hasSize(1);
        JsonObject row = ledger.get(0);
        assertThat(row.getString("agent")).isEqualTo("support");
        assertThat(row.getString("model")).isEqualTo("spare");
        assertThat(row.getString("key")).isEqualTo("backup/b");
        assertThat(row.getLong("input")).isEqualTo(40);
        assertThat(row.getLong("output")).isEqualTo(5);
        assertThat(row.getBoolean("cached")).isFalse();
        assertThat(ledgerSigners).containsExactly(NODE);
        test.completeNow();
      }))));
  }

  @Test
  void aCachedAnswerComesWithoutAProviderCallAndCostsNothing(Vertx vertx, VertxTestContext test) {
    String answer = "Your balance is zero and nothing is due this month, thank you for asking";
    ScriptedProvider backup = ScriptedProvider.answering(answer, new ModelCall.Usage(40, 0, 0, 16, 0));
    ModelCallPipeline pipeline = pipeline(vertx, config(""),
      Map.of("flaky", ScriptedProvider.failing(503), "backup", backup));
    List<String> pieces = new CopyOnWriteArrayList<>();
    Checkpoint streamed = test.checkpoint();
    Checkpoint answered = test.checkpoint();
    MessageConsumer<JsonObject> consumer = vertx.eventBus().localConsumer(STREAM, m -> {
      pieces.add(m.headers().get(ModelCall.OFFSET) + ":" + m.body().getString("text"));
      if (pieces.stream().map(p -> p.substring(p.indexOf(':') + 1)).reduce("", String::concat).equals(answer)) {
        streamed.flag();
      }
    });
    onContext(() -> consumer.completion()
      .compose(v -> pipeline.call(request("billing", "spare", "what is my balance?", null), deadline()))
      .compose(first -> pipeline.call(request("billing", "spare", "what is my balance?",
        new ModelCall.Stream(STREAM, "s2", 0)), deadline()).map(again -> List.of(first, again)))
      .onComplete(test.succeeding(replies -> test.verify(() -> {
        ModelCall.Reply first = replies.get(0);
        ModelCall.Reply again = replies.get(1);
        assertThat(first.cached()).isFalse();
        assertThat(first.costUsd()).isPositive();
        assertThat(again.cached()).isTrue();
        assertThat(again.costUsd()).isZero();
        assertThat(again.keyId()).isEqualTo("cache");
        assertThat(again.content()).isEqualTo(answer);
        assertThat(again.usage()).isEqualTo(first.usage());
        assertThat(backup.calls).hasSize(1);
        assertThat(events.cacheHits).containsExactly("spare");
        assertThat(ledger).extracting(row -> row.getBoolean("cached")).containsExactly(false, true);
        assertThat(ledger.get(1).getDouble("usd")).isZero();
        answered.flag();
      }))));
  }

  @Test
  void aCallIsPricedAtItsPlainAndCachedTokensPrices(Vertx vertx, VertxTestContext test) {
    // 3,000 prompt tokens of which 2,000 read from the provider's prompt cache, 100 output
    ScriptedProvider backup = ScriptedProvider.answering("priced", new ModelCall.Usage(3000, 2000, 0, 100, 0));
    ModelCallPipeline pipeline = pipeline(vertx, config(""),
      Map.of("flaky", ScriptedProvider.failing(503), "backup", backup));
    double expected = (1000 * 0.15 + 2000 * 0.075 + 100 * 0.60) / 1e6;
    onContext(() -> pipeline.call(request("support", "spare", "price me", null), deadline())
      .onComplete(test.succeeding(reply -> test.verify(() -> {
        assertThat(reply.costUsd()).isCloseTo(expected, within(1e-15));
        assertThat(events.usageUsd).singleElement().satisfies(usd -> assertThat(usd).isCloseTo(expected, within(1e-15)));
        JsonObject row = ledger.get(0);
        assertThat(row.getDouble("usd")).isCloseTo(expected, within(1e-15));
        assertThat(row.getLong("input")).isEqualTo(3000);
        assertThat(row.getLong("cached_input")).isEqualTo(2000);
        assertThat(row.getLong("output")).isEqualTo(100);
        test.completeNow();
      }))));
  }

  @Test
  void aBudgetWithNoRoomRefusesTheCallBeforeAnyProviderSeesIt(Vertx vertx, VertxTestContext test) {
    ScriptedProvider flaky = ScriptedProvider.answering("never", ModelCall.Usage.NONE);
    ScriptedProvider backup = ScriptedProvider.answering("never", ModelCall.Usage.NONE);
    // 100 output tokens at primary's $10 a million are $0.001, ten times the month's budget
    ModelCallPipeline pipeline = pipeline(vertx, config("budgets: { monthly-usd: 0.0001, on-exceed: block }\n"),
      Map.of("flaky", flaky, "backup", backup));
    onContext(() -> pipeline.call(request("support", "primary", "hello", null), deadline())
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOfSatisfying(Failure.class, f -> {
          assertThat(f.kind()).isEqualTo(Failure.Kind.BUDGET_EXCEEDED);
          assertThat(f.getMessage()).contains("'global'");
          assertThat(f.retryAfterSeconds()).isPositive();
        });
        assertThat(flaky.calls).isEmpty();
        assertThat(backup.calls).isEmpty();
        assertThat(events.refused).containsExactly("budget");
        assertThat(events.audits).containsExactly("budget_blocked");
        assertThat(ledger).isEmpty();
        test.completeNow();
      }))));
  }

  @Test
  void aStreamThatBrokeAfterItsFirstPieceDoesNotFallBack(Vertx vertx, VertxTestContext test) {
    ScriptedProvider flaky = new ScriptedProvider(call -> {
      call.deltas().accept("Hel");
      return Future.succeededFuture(ScriptedProvider.status(503, null));
    });
    ScriptedProvider backup = ScriptedProvider.answering("Hello from the spare", new ModelCall.Usage(40, 0, 0, 5, 0));
    ModelCallPipeline pipeline = pipeline(vertx, config(""), Map.of("flaky", flaky, "backup", backup));
    Checkpoint failed = test.checkpoint();
    // strict: a second piece would fail the test
    Checkpoint piece = test.checkpoint();
    MessageConsumer<JsonObject> consumer = vertx.eventBus().localConsumer(STREAM, m -> test.verify(() -> {
      // the piece went out at the turn's offset
      assertThat(m.headers().get(ModelCall.OFFSET) + ":" + m.body().getString("text")).isEqualTo("7:Hel");
      piece.flag();
    }));
    onContext(() -> consumer.completion()
      .compose(v -> pipeline.call(request("support", "primary", "hello", new ModelCall.Stream(STREAM, "s1", 7)),
        deadline()))
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOfSatisfying(Failure.class,
          f -> assertThat(f.kind()).isEqualTo(Failure.Kind.STREAM_BROKEN));
        // the caller has shown "Hel": another model's answer cannot follow it
        assertThat(flaky.calls).hasSize(1);
        assertThat(backup.calls).isEmpty();
        assertThat(events.fallbacks).isEmpty();
        assertThat(ledger).isEmpty();
        failed.flag();
      }))));
  }

  @Test
  void aStreamedCallIsCancelledByItsOwnAgentOnly(Vertx vertx, VertxTestContext test) {
    Promise<Void> reached = Promise.promise();
    ScriptedProvider flaky = new ScriptedProvider(call -> {
      reached.tryComplete();
      return Promise.<ProviderClient.Result>promise().future(); // answers only when cancelled
    });
    ScriptedProvider backup = ScriptedProvider.answering("never", ModelCall.Usage.NONE);
    ModelCallPipeline pipeline = pipeline(vertx, config(""), Map.of("flaky", flaky, "backup", backup));
    onContext(() -> {
      Future<ModelCall.Reply> reply = pipeline.call(request("support", "primary", "a long story",
        new ModelCall.Stream(STREAM, "call-7", 0)), deadline());
      reached.future().onSuccess(v -> {
        pipeline.cancel("call-7", agent -> agent.equals("ops"));
        test.verify(() -> assertThat(reply.isComplete()).as("cancelled by another agent").isFalse());
        pipeline.cancel("call-7", agent -> agent.equals("support"));
      });
      reply.onComplete(test.succeeding(r -> test.verify(() -> {
        assertThat(r.cancelled()).isTrue();
        assertThat(r.model()).isEqualTo("primary");
        // a cancelled call is an answer: no fallback, and it is in the ledger
        assertThat(backup.calls).isEmpty();
        assertThat(ledger).hasSize(1);
        test.completeNow();
      })));
    });
  }
}
