package dev.agenthub.protocol;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TurnTest {

  @Test
  void aTurnIsKeyedByItsSessionKeyAndItsIdempotencyKey() {
    Turn.Request turn = new Turn.Request("s1", "hi", "k1", Priority.INTERACTIVE);
    assertThat(turn.turnKey()).isEqualTo("s1|k1");
    assertThat(turn.forClient("web").turnKey()).as("a client's session is its own").isEqualTo("web/s1|k1");
    assertThat(new Turn.Request("s1", "hi", null, Priority.INTERACTIVE).turnKey()).as("no key, no turn key").isNull();
    assertThat(turn.withGatewayKey().turnKey()).as("a turn's own key is kept").isEqualTo("s1|k1");
  }

  @Test
  void aCancelNamesTheTurnByTheSameKey() {
    // the body a door sends to cancel a turn: no text, only what names the turn
    JsonObject cancel = new JsonObject().put("session", "s1").put("idempotency_key", "k1").put("client", "web");
    assertThat(Turn.Request.fromJson(cancel).turnKey())
      .isEqualTo(new Turn.Request("s1", "hi", "k1", Priority.BATCH).forClient("web").turnKey());
  }
}
