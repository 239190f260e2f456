package dev.agenthub.agents;

import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Retries get the first answer: from the turn still running, or from the shared map on another
 * instance. A real Vert.x and its shared data (vertx-junit5); the turns are stand-ins that say they ran.
 */
@ExtendWith(VertxExtension.class)
class FirstAnswersTest {

  private static final Turn.Request CLIENT_KEY = Turn.Request.of("s1", "hi").idempotencyKey("k1").build();
  private static final Turn.Request GATEWAY_KEY = CLIENT_KEY.withIdempotencyKey(Turn.GATEWAY_KEY_PREFIX + "1");

  private AsyncMap<String, JsonObject> kept;
  private final List<String> ran = new ArrayList<>();

  @BeforeEach
  void map(Vertx vertx, VertxTestContext test) {
    vertx.sharedData().<String, JsonObject>getLocalAsyncMap("answers-" + System.nanoTime())
      .onComplete(test.succeeding(map -> {
        kept = map;
        test.completeNow();
      }));
  }

  private Supplier<Future<Turn.Reply>> answering(String text) {
    return () -> {
      ran.add(text);
      return Future.succeededFuture(reply(text));
    };
  }

  private Supplier<Future<Turn.Reply>> waitingFor(Promise<Turn.Reply> answer, String name) {
    return () -> {
      ran.add(name);
      return answer.future();
    };
  }

  private static Turn.Reply reply(String text) {
    return new Turn.Reply("support", "s1", "i1", "n1", text, "m", ModelCall.Usage.NONE, 0, false, "stop");
  }

  private FirstAnswers answers(String agent) {
    return new FirstAnswers(agent, kept, 100, 60_000);
  }

  @Test
  void aRetryWhileTheTurnRunsWaitsForItsAnswer(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> {
      FirstAnswers answers = answers("support");
      Promise<Turn.Reply> running = Promise.promise();
      Future<Turn.Reply> first = answers.answer(GATEWAY_KEY, false, waitingFor(running, "first"));
      Future<Turn.Reply> resent = answers.answer(GATEWAY_KEY, true, answering("resent"));
      running.complete(reply("the answer"));
      Future.all(first, resent).onComplete(test.succeeding(all -> test.verify(() -> {
        assertThat(resent.result().reply()).isEqualTo("the answer");
        assertThat(ran).as("one turn").containsExactly("first");
        test.completeNow();
      })));
    });
  }

  @Test
  void aClientsKeyIsAnsweredOnAnyInstanceOfItsAgentOnly(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> answers("support").answer(CLIENT_KEY, false, answering("the answer"))
      .compose(first -> answers("support").answer(CLIENT_KEY, false, answering("again")))
      .compose(onAnother -> {
        test.verify(() -> assertThat(onAnother.reply()).as("another instance, from the shared map").isEqualTo("the answer"));
        return answers("ops").answer(CLIENT_KEY, false, answering("ops answer"));
      })
      .onComplete(test.succeeding(ops -> test.verify(() -> {
        assertThat(ops.reply()).as("another agent's key is its own").isEqualTo("ops answer");
        assertThat(ran).containsExactly("the answer", "ops answer");
        test.completeNow();
      }))));
  }

  @Test
  void aGatewaysKeyIsForgottenOnceItsTurnIsAnswered(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> {
      FirstAnswers answers = answers("support");
      answers.answer(GATEWAY_KEY, false, answering("first"))
        .compose(first -> answers.answer(GATEWAY_KEY, false, answering("second")))
        .compose(second -> {
          test.verify(() -> assertThat(second.reply()).isEqualTo("second"));
          return kept.size();
        })
        .onComplete(test.succeeding(size -> test.verify(() -> {
          assertThat(size).as("nothing kept for a key the gateway made up").isZero();
          assertThat(ran).containsExactly("first", "second");
          test.completeNow();
        })));
    });
  }

  @Test
  void aFailedTurnAnswersNoRetry(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> {
      FirstAnswers answers = answers("support");
      answers.answer(CLIENT_KEY, false, () -> {
        ran.add("failed");
        return Future.failedFuture(new IllegalStateException("model failed"));
      })
        .transform(ar -> {
          test.verify(() -> assertThat(ar.failed()).isTrue());
          return answers.answer(CLIENT_KEY, false, answering("second try"));
        })
        .onComplete(test.succeeding(retry -> test.verify(() -> {
          assertThat(retry.reply()).isEqualTo("second try");
          assertThat(ran).as("the retry ran a turn of its own").containsExactly("failed", "second try");
          test.completeNow();
        })));
    });
  }

  @Test
  void aTurnWithoutAKeyAlwaysRuns(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> {
      FirstAnswers answers = answers("support");
      Turn.Request keyless = Turn.Request.of("s1", "hi").build();
      Future.all(answers.answer(keyless, false, answering("a")), answers.answer(keyless, false, answering("b")))
        .onComplete(test.succeeding(all -> test.verify(() -> {
          assertThat(ran).containsExactly("a", "b");
          test.completeNow();
        })));
    });
  }

  @Test
  void anInstanceRemembersABoundedNumberOfKeys(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> {
      FirstAnswers answers = new FirstAnswers("support", kept, 1, 60_000);
      Promise<Turn.Reply> one = Promise.promise();
      answers.answer(GATEWAY_KEY, false, waitingFor(one, "one"));
      answers.answer(GATEWAY_KEY.withIdempotencyKey(Turn.GATEWAY_KEY_PREFIX + "2"), false,
        waitingFor(Promise.promise(), "two"));
      answers.answer(GATEWAY_KEY, false, answering("one again")).onComplete(test.succeeding(r -> test.verify(() -> {
        assertThat(r.reply()).as("the oldest key was forgotten").isEqualTo("one again");
        assertThat(ran).containsExactly("one", "two", "one again");
        test.completeNow();
      })));
    });
  }
}
