package dev.agenthub.client;

import dev.agenthub.protocol.EventBusApi;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client against a stand-in of the hub's door on a real (local) event bus: what it sends, what
 * it makes of failures, and a message that found no door yet sent again once one serves the agent.
 */
@ExtendWith(VertxExtension.class)
class AgentHubClientTest {

  @Test
  void aMessageCarriesTheTokenAndAKeyAndIsSentAgainUntilADoorServesIt(Vertx vertx, VertxTestContext test) {
    List<JsonObject> seen = new CopyOnWriteArrayList<>();
    AgentHubClient hub = AgentHubClient.create(vertx, new AgentHubClient.Options().setToken("t0k"));
    hub.send("support", "s1", "where is my parcel?").onComplete(test.succeeding(reply -> test.verify(() -> {
      assertThat(reply.text()).isEqualTo("on its way");
      assertThat(reply.session()).isEqualTo("s1");
      JsonObject body = seen.get(0);
      assertThat(body.getString("text")).isEqualTo("where is my parcel?");
      assertThat(body.getString("idempotency_key")).as("every message is keyed").isNotBlank();
      assertThat(body.getString("authorization")).isEqualTo("Bearer t0k");
      test.completeNow();
    })));
    // no door at first (NO_HANDLERS): the client tries again, and the door that appears answers
    vertx.setTimer(300, id -> vertx.eventBus().<Object>consumer(EventBusApi.address("support"), m -> {
      JsonObject body = (JsonObject) m.body();
      seen.add(body.copy().put("authorization", m.headers().get("authorization")));
      m.reply(new JsonObject().put("agent", "support").put("session", body.getString("session"))
        .put("reply", "on its way"));
    }));
  }

  @Test
  void aRefusalIsAnExceptionWithTheHttpStatusAndType(Vertx vertx, VertxTestContext test) {
    vertx.eventBus().<Object>consumer(EventBusApi.address("ops"), m -> m.fail(403, new JsonObject().put("error",
      new JsonObject().put("type", "permission_error").put("message", "this token may not use agent 'ops'")).encode()));
    AgentHubClient hub = AgentHubClient.create(vertx, new AgentHubClient.Options().setToken("t0k"));
    hub.send("ops", "s1", "hi").onComplete(test.failing(err -> test.verify(() -> {
      assertThat(err).isInstanceOf(AgentHubException.class);
      AgentHubException e = (AgentHubException) err;
      assertThat(e.status()).isEqualTo(403);
      assertThat(e.type()).isEqualTo("permission_error");
      assertThat(e.kind()).isEqualTo(Failure.Kind.FORBIDDEN);
      assertThat(e.getMessage()).contains("may not use agent 'ops'");
      assertThat(e.retryable()).isFalse();
      test.completeNow();
    })));
  }
}
