package dev.agenthub.hub.gateway;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.protocol.EventBusApi;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Turn;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * The event-bus face of a node ("Contract: the event-bus API"): users' own Vert.x applications, joined
 * to the cluster, send {@code {"session","text",...}} to {@code agenthub.agents.<agent>} and get the
 * HTTP API's answer. Every node serves every agent's address and routes the session to its owning
 * instance as the HTTP gateway does, under the same rules: client token (401), allowed agents (403),
 * the per-client rate, sessions per client, idempotency keys, failover to the session's new owner.
 * Failures are the HTTP status as failure code and the JSON error object as message. Applications
 * outside the cluster come through {@link BridgeDoor}, whose requests this node's door answers.
 */
public final class EventBusDoor extends VerticleBase {

  private final GatewayContext gw;
  private final List<MessageConsumer<Object>> consumers = new ArrayList<>();
  private TurnIntake intake;
  private StreamRelay relay;

  public EventBusDoor(GatewayContext gw) {
    this.gw = gw;
  }

  @Override
  public Future<?> start() {
    intake = gw.intake();
    relay = new StreamRelay(vertx, gw.config().node().name());
    List<Future<Void>> ready = new ArrayList<>();
    ready.add(relay.ready());
    for (AgentSpec spec : gw.config().agents()) {
      MessageConsumer<Object> c = vertx.eventBus().consumer(EventBusApi.address(spec.id()), m -> onMessage(spec.id(), m));
      consumers.add(c);
      ready.add(c.completion());
    }
    // local: an application reaches it through its node's bridge, which delivers on that node only
    MessageConsumer<Object> approvals = vertx.eventBus().localConsumer(EventBusApi.APPROVALS, this::onApprovals);
    consumers.add(approvals);
    ready.add(approvals.completion());
    return Future.all(ready);
  }

  @Override
  public Future<?> stop() {
    List<Future<Void>> gone = new ArrayList<>();
    consumers.forEach(c -> gone.add(c.unregister()));
    return Future.join(gone);
  }

  private void onMessage(String agent, Message<Object> m) {
    long started = System.nanoTime();
    try {
      String authorization = m.headers().get(EventBusApi.AUTHORIZATION);
      String client = intake.admit(authorization, agent);
      if (client != null) {
        intake.checkRate(client, null);
      }
      Requests.AgentMessage msg = Requests.AgentMessage.parse(body(m.body()));
      if (msg.text().length() > gw.config().node().http().maxBodyBytes()) {
        throw new Failure(Failure.Kind.TOO_LARGE, "text over the " + gw.config().node().http().maxBodyBytes()
          + "-byte limit");
      }
      if (msg.callback() != null) {
        throw Failure.badParam("callback_url", "'callback_url' is for HTTP batch messages: on the event bus the "
          + "reply is the answer");
      }
      if (msg.stream()) {
        throw Failure.badParam("stream", "on the event bus, name the address for the deltas in the '"
          + EventBusApi.STREAM_TO + "' header");
      }
      Turn.Request request = TurnIntake.turn(msg, client);
      long timeout = intake.timeoutMs(request.priority());
      String streamTo = m.headers().get(EventBusApi.STREAM_TO);
      if (streamTo != null && !EventBusApi.isStreamAddressOf(EventBusApi.bearerToken(authorization), streamTo)) {
        // deltas go only where this caller may receive them: never onto an internal or another's address
        throw new Failure(Failure.Kind.FORBIDDEN, "'" + EventBusApi.STREAM_TO + "' must be one of this token's "
          + "stream addresses (" + EventBusApi.STREAM_PREFIX + "<...>.<id>)");
      }
      if (streamTo != null && !msg.batch()) {
        stream(agent, m, request, streamTo, started);
        return;
      }
      intake.dispatch(agent, request, timeout).onComplete(ar -> answer(agent, m, ar, started));
    } catch (Failure e) {
      fail(agent, m, e, started);
    }
  }

  /** Deltas go to {@code streamTo} as they come (through this node's relay), then the reply. */
  private void stream(String agent, Message<Object> m, Turn.Request request, String streamTo, long started) {
    String streamId = m.headers().get(EventBusApi.STREAM_ID);
    DeliveryOptions deltaOptions = new DeliveryOptions();
    if ("bridge".equals(m.headers().get(BridgeGuard.DOOR_HEADER))) {
      // the bridge's connection registered the stream address on this node: the answer's text stays here
      deltaOptions.setLocalOnly(true);
    }
    if (streamId != null) {
      deltaOptions.addHeader(EventBusApi.STREAM_ID, streamId);
    }
    int[] sent = {0};
    ModelCall.Stream[] opened = new ModelCall.Stream[1];
    opened[0] = relay.open((offset, text) -> {
      String unsent = StreamRelay.unsent(sent[0], offset, text);
      if (unsent != null) {
        vertx.eventBus().send(streamTo, new JsonObject().put("text", unsent), at(deltaOptions, sent[0]));
        sent[0] += unsent.length();
      }
    });
    Turn.Request streamed = request.toBuilder().stream(opened[0]).build();
    intake.dispatch(agent, streamed).onComplete(ar -> {
      relay.close(opened[0]);
      if (ar.succeeded()) {
        String answer = ar.result().getString("reply", "");
        if (sent[0] < answer.length()) {
          vertx.eventBus().send(streamTo, new JsonObject().put("text", answer.substring(sent[0])),
            at(deltaOptions, sent[0]));
        }
      }
      answer(agent, m, ar, started);
    });
  }

  /** {@link EventBusApi#APPROVALS}: the same desk as {@code /v1/approvals}, in the event-bus API's answers. */
  private void onApprovals(Message<Object> m) {
    try {
      String authorization = m.headers().get(EventBusApi.AUTHORIZATION);
      JsonObject body = body(m.body());
      Future<JsonObject> answer;
      if (body.getValue("id") == null) {
        answer = intake.approvals().list(authorization);
      } else if (!(body.getValue("id") instanceof String id) || !(body.getValue("decision") instanceof String d)) {
        throw Failure.badParam("decision", "a decision is {\"id\", \"decision\": \"approve\"|\"deny\"}");
      } else {
        answer = intake.approvals().decide(authorization, id, d);
      }
      answer.onSuccess(r -> m.reply(r, new DeliveryOptions().addHeader(EventBusApi.VERSION_HEADER, EventBusApi.VERSION)))
        .onFailure(err -> {
          Failure e = HttpFailures.of(err);
          m.fail(e.kind().status(), e.toJson().encode());
        });
    } catch (RuntimeException err) {
      Failure e = HttpFailures.of(err);
      m.fail(e.kind().status(), e.toJson().encode());
    }
  }

  private static DeliveryOptions at(DeliveryOptions base, int offset) {
    return new DeliveryOptions(base).addHeader(EventBusApi.STREAM_OFFSET, Integer.toString(offset));
  }

  private void answer(String agent, Message<Object> m, AsyncResult<JsonObject> ar, long started) {
    if (ar.succeeded()) {
      gw.metrics().message(agent, "ok", System.nanoTime() - started);
      m.reply(ar.result(), new DeliveryOptions().addHeader(EventBusApi.VERSION_HEADER, EventBusApi.VERSION));
    } else {
      fail(agent, m, ar.cause(), started);
    }
  }

  private void fail(String agent, Message<Object> m, Throwable err, long started) {
    Failure e = HttpFailures.of(err);
    if (e.kind() == Failure.Kind.UNAUTHORIZED || e.kind() == Failure.Kind.FORBIDDEN) {
      // audited as on HTTP: who was refused where (the event bus does not say who sent it)
      gw.metrics().refused("auth");
      String door = "bridge".equals(m.headers().get(BridgeGuard.DOOR_HEADER)) ? "bridge" : "eventbus";
      gw.metrics().audit("auth_failed", new JsonObject().put("status", e.kind().status()).put("door", door)
        .put("address", EventBusApi.address(agent)).put("reason", e.getMessage()));
    }
    gw.metrics().message(agent, Replies.outcome(e), System.nanoTime() - started);
    // the event-bus API's failure (its contract): the HTTP status and the error object as text
    m.fail(e.kind().status(), e.toJson().encode());
  }

  /** The request body: a JSON object (or its text or bytes), within the HTTP API's body limit. */
  private JsonObject body(Object body) {
    long max = gw.config().node().http().maxBodyBytes();
    if (body instanceof JsonObject json) {
      return json;
    }
    Buffer bytes = body instanceof Buffer b ? b : body instanceof String s ? Buffer.buffer(s) : null;
    if (bytes == null) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "the message must be a JSON object {\"session\", \"text\"}");
    }
    if (bytes.length() > max) {
      throw new Failure(Failure.Kind.TOO_LARGE, "message over the " + max + "-byte limit");
    }
    return Requests.jsonBody(bytes);
  }
}
