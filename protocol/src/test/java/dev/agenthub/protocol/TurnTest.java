package dev.agenthub.protocol;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TurnTest {

  @Test
  void aTurnIsKeyedByItsSessionKeyAndItsIdempotencyKey() {
    Turn.Request turn = Turn.Request.of("s1", "hi").idempotencyKey("k1").build();
    assertThat(turn.turnKey()).isEqualTo("s1|k1");
    assertThat(turn.toBuilder().client("web").build().turnKey()).as("a client's session is its own").isEqualTo("web/s1|k1");
    assertThat(Turn.Request.of("s1", "hi").build().turnKey()).as("no key, no turn key").isNull();
    assertThat(turn.withGatewayKey().turnKey()).as("a turn's own key is kept").isEqualTo("s1|k1");
  }

  @Test
  void aCancelNamesTheTurnByTheSameKey() {
    // the body a door sends to cancel a turn: no text, only what names the turn
    JsonObject cancel = new JsonObject().put("session", "s1").put("idempotency_key", "k1").put("client", "web");
    assertThat(Turn.Request.fromJson(cancel).turnKey())
      .isEqualTo(Turn.Request.of("s1", "hi").idempotencyKey("k1").priority(Priority.BATCH).client("web").build().turnKey());
  }
}
