package dev.agenthub.agents;

import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a message to an instance asks, read from real messages on a real event bus, signed as the
 * nodes and the agents sign them (vertx-junit5).
 */
@ExtendWith(VertxExtension.class)
class IncomingTurnsTest {

  private static final byte[] SECRET = "turn-intake-test".getBytes(StandardCharsets.UTF_8);
  private static final String ADDRESS = Turn.address("support", "i1");
  private static final MessageAuth.Signer NODE = MessageAuth.Signer.of(SECRET, MessageAuth.nodePrincipal("n1"));
  private static final MessageAuth.Signer AGENT = MessageAuth.Signer.of(SECRET, "support");
  private static final Turn.Request TURN = Turn.Request.of("s1", "hi").idempotencyKey("k1").client("web").build();

  private final List<String> refusals = new ArrayList<>();
  private final AgentEvents events = new AgentEvents() {
    @Override
    public void refused(String agent, String reason) {
      refusals.add(agent + " " + reason);
    }
  };

  /** Reads every message to the instance's address with {@code intake} and answers what it asks. */
  private static void serve(Vertx vertx, IncomingTurns intake) {
    vertx.eventBus().<JsonObject>consumer(ADDRESS, m -> m.reply(describe(intake.read(m))));
  }

  private static String describe(IncomingTurns.Ask ask) {
    if (ask instanceof IncomingTurns.Run run) {
      return "run " + run.request().turnKey() + (run.resent() ? " resent" : "");
    }
    if (ask instanceof IncomingTurns.Cancel cancel) {
      return "cancel " + cancel.turnKey();
    }
    Failure failure = ((IncomingTurns.Refused) ask).failure();
    return "refused " + failure.kind().id() + ": " + failure.getMessage();
  }

  private static Future<String> send(Vertx vertx, MessageAuth.Signer signer, JsonObject body, DeliveryOptions options) {
    DeliveryOptions signed = signer == null ? options : signer.sign(ADDRESS, body, options);
    return vertx.eventBus().<String>request(ADDRESS, body, signed).map(m -> m.body());
  }

  @Test
  void aNodesTurnRunsAndAnyoneElsesIsRefused(Vertx vertx, VertxTestContext test) {
    serve(vertx, new IncomingTurns("support", new MessageAuth.Verifier(SECRET), events));
    Future<String> node = send(vertx, NODE, TURN.toJson(), new DeliveryOptions());
    Future<String> resent = send(vertx, NODE, TURN.toJson(), new DeliveryOptions().addHeader(Turn.RESEND_HEADER,
      "true"));
    Future<String> agent = send(vertx, AGENT, TURN.toJson(), new DeliveryOptions());
    Future<String> unsigned = send(vertx, null, TURN.toJson(), new DeliveryOptions());
    Future.all(node, resent, agent, unsigned).onComplete(test.succeeding(all -> test.verify(() -> {
      assertThat(node.result()).isEqualTo("run web/s1|k1");
      assertThat(resent.result()).isEqualTo("run web/s1|k1 resent");
      assertThat(agent.result()).as("an agent's own key cannot start a turn past the client checks")
        .isEqualTo("refused forbidden: turns on agent addresses must be signed by a hub node");
      assertThat(unsigned.result()).isEqualTo("refused forbidden: turns on agent addresses must be signed by a hub node");
      assertThat(refusals).containsExactly("support identity", "support identity");
      test.completeNow();
    })));
  }

  @Test
  void aCancelNamesItsTurnAndATurnNeedsASessionAndAText(Vertx vertx, VertxTestContext test) {
    serve(vertx, new IncomingTurns("support", new MessageAuth.Verifier(SECRET), events));
    // options of their own for each message: signing adds the message's header to them
    Supplier<DeliveryOptions> cancel = () -> new DeliveryOptions().addHeader(Turn.CANCEL_HEADER, "true");
    JsonObject names = new JsonObject().put("session", "s1").put("idempotency_key", "k1").put("client", "web");
    Future<String> cancelled = send(vertx, NODE, names, cancel.get());
    Future<String> keyless = send(vertx, NODE, new JsonObject().put("session", "s1"), cancel.get());
    Future<String> malformedCancel = send(vertx, NODE, new JsonObject().put("depth", "deep"), cancel.get());
    Future<String> textless = send(vertx, NODE, new JsonObject().put("session", "s1"), new DeliveryOptions());
    Future<String> malformed = send(vertx, NODE, TURN.toJson().put("depth", "deep"), new DeliveryOptions());
    Future.all(List.of(cancelled, keyless, malformedCancel, textless, malformed))
      .onComplete(test.succeeding(all -> test.verify(() -> {
        assertThat(cancelled.result()).isEqualTo("cancel web/s1|k1");
        assertThat(keyless.result()).as("names no turn").isEqualTo("cancel null");
        assertThat(malformedCancel.result()).as("answered all the same").isEqualTo("cancel null");
        assertThat(textless.result()).isEqualTo("refused bad_request: session and text are required");
        assertThat(malformed.result()).isEqualTo("refused bad_request: malformed turn");
        assertThat(refusals).isEmpty();
        test.completeNow();
      })));
  }

  @Test
  void withoutAVerifierUnsignedTurnsRun(Vertx vertx, VertxTestContext test) {
    serve(vertx, new IncomingTurns("support", null, events));
    send(vertx, null, TURN.toJson(), new DeliveryOptions()).onComplete(test.succeeding(r -> test.verify(() -> {
      assertThat(r).isEqualTo("run web/s1|k1");
      test.completeNow();
    })));
  }
}
