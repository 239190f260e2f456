package dev.agenthub.agents;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

/** Cancelling the turns of an instance, on a real context as the verticle does. */
@ExtendWith(VertxExtension.class)
class RunningTurnsTest {

  @Test
  void aTurnCanBeCancelledByItsKeyUntilItCompletes(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> test.verify(() -> {
      RunningTurns turns = new RunningTurns();
      Promise<String> work = Promise.promise();
      TurnControl[] seen = new TurnControl[1];
      Future<String> turn = turns.run("s1|k1", control -> {
        seen[0] = control;
        return work.future();
      });
      assertThat(turns.cancel("s1|k2")).as("another turn").isEqualTo(new RunningTurns.Cancellation(false, null));
      assertThat(seen[0].cancelled()).isFalse();
      seen[0].calling("call-7");
      assertThat(turns.cancel("s1|k1")).as("its model call is cut short")
        .isEqualTo(new RunningTurns.Cancellation(true, "call-7"));
      assertThat(seen[0].cancelled()).as("it stops between its steps").isTrue();
      work.complete("stopped");
      assertThat(turn.result()).isEqualTo("stopped");
      assertThat(turns.cancel("s1|k1")).as("a finished turn is forgotten").isEqualTo(new RunningTurns.Cancellation(false,
        null));
      test.completeNow();
    }));
  }

  @Test
  void aFailedTurnIsForgottenTooAndATurnWithoutAKeyIsNeverFound(Vertx vertx, VertxTestContext test) {
    vertx.runOnContext(v -> test.verify(() -> {
      RunningTurns turns = new RunningTurns();
      Promise<String> work = Promise.promise();
      turns.run("s1|k1", control -> work.future());
      work.fail(new IllegalStateException("model failed"));
      assertThat(turns.cancel("s1|k1").found()).isFalse();
      Promise<String> keyless = Promise.promise();
      TurnControl[] seen = new TurnControl[1];
      turns.run(null, control -> {
        seen[0] = control;
        return keyless.future();
      });
      assertThat(turns.cancel(null).found()).isFalse();
      assertThat(seen[0]).as("it still gets a control of its own").isNotNull();
      assertThat(seen[0].cancelled()).isFalse();
      test.completeNow();
    }));
  }
}
