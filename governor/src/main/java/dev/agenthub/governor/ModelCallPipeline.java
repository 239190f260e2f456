package dev.agenthub.governor;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.ledger.LedgerVerticle;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A model call's way through the governor: the request's checks, its admission (client tokens,
 * budget holds), then its model and the model's fallbacks in order, each answered from the response
 * cache when it can or else by its provider ({@link ModelDispatch}); then the hold settles into the
 * real cost and the call is recorded in the ledger before its answer goes back. A streamed call can
 * be cancelled by its id while it runs. No verticle: the governor drives it on its context, and a
 * test can drive it on any.
 */
final class ModelCallPipeline {

  private static final Logger LOG = Logger.getLogger(ModelCallPipeline.class.getName());

  private final Vertx vertx;
  private final HubConfig config;
  private final GovernorEvents metrics;
  private final Admission admission;
  private final ResponseCache cache;
  private final ModelDispatch dispatch;
  private final MessageAuth.Signer signer;
  // streamed calls that may be cancelled, by call id
  private final Map<String, Running> running = new HashMap<>();

  /** @param signer this node's signer (its usage records to the ledger) */
  ModelCallPipeline(Vertx vertx, HubConfig config, GovernorEvents metrics, Admission admission, ResponseCache cache,
                    ModelDispatch dispatch, MessageAuth.Signer signer) {
    this.vertx = vertx;
    this.config = config;
    this.metrics = metrics;
    this.admission = admission;
    this.cache = cache;
    this.dispatch = dispatch;
    this.signer = signer;
  }

  /** A call and what it may be cancelled through: its current attempt. */
  private static final class Running {
    final String agent;
    Runnable cancelAttempt;
    boolean cancelled;

    Running(String agent) {
      this.agent = agent;
    }

    void cancel() {
      cancelled = true;
      if (cancelAttempt != null) {
        cancelAttempt.run();
      }
    }
  }

  /**
   * Runs one call (its signer already checked) until {@code deadline} ({@link System#nanoTime()}).
   * Fails only with a {@link Failure}: the request's own, a refusal of admission, or the last model's.
   */
  Future<ModelCall.Reply> call(ModelCall.Request request, long deadline) {
    HubConfig.Model model = config.models().get(request.model());
    if (model == null || request.messages() == null) {
      return Future.failedFuture(new Failure(Failure.Kind.BAD_REQUEST, "unknown model '" + request.model() + "'"));
    }
    AgentSpec agent = config.agent(request.agent()).orElse(null);
    if (agent != null && agent.sensitive() && !config.providers().get(model.provider()).local()) {
      // the config check at start makes this impossible; it is checked again here all the same
      metrics.refused("trust");
      metrics.audit("trust_refused", new JsonObject().put("agent", agent.id()).put("model", model.id()));
      return Future.failedFuture(new Failure(Failure.Kind.FORBIDDEN,
        "sensitive agent '" + agent.id() + "' may use local providers only"));
    }
    return admission.admit(request, agent, model)
      .compose(ticket -> admitted(request, ticket, deadline))
      .recover(err -> Future.failedFuture(failureOf(err)));
  }

  /** Cuts the streamed call {@code callId} short, if {@code mayCancel} accepts the agent it runs for. */
  void cancel(String callId, Predicate<String> mayCancel) {
    Running call = running.get(callId);
    if (call != null && mayCancel.test(call.agent)) {
      call.cancel();
    }
  }

  /** The failure a model call answers: the governor's own refusals as they are, a provider's as a model error. */
  static Failure failureOf(Throwable cause) {
    if (cause instanceof Failure f) {
      return f;
    }
    if (cause instanceof ProviderLane.Rejected r) {
      return new Failure(Failure.Kind.MODEL_ERROR, r.getMessage(), r.param, null);
    }
    if (cause instanceof ProviderLane.StreamBroken) {
      return new Failure(Failure.Kind.STREAM_BROKEN, cause.getMessage());
    }
    if (cause instanceof ProviderLane.NoCapacity || cause instanceof SimProvider.Failure) {
      return new Failure(Failure.Kind.MODEL_ERROR, cause.getMessage());
    }
    LOG.log(Level.WARNING, "model call failed unexpectedly", cause);
    return new Failure(Failure.Kind.MODEL_ERROR, "model call failed");
  }

  private Future<ModelCall.Reply> admitted(ModelCall.Request request, Admission.Ticket ticket, long deadline) {
    List<String> chain = new ArrayList<>();
    chain.add(ticket.model().id());
    chain.addAll(ticket.model().fallbacks());
    Running call = new Running(request.agent());
    String callId = request.stream() == null ? null : request.stream().id();
    if (callId != null) {
      running.put(callId, call);
    }
    return withFallbacks(request, chain, 0, deadline, call)
      .transform(ar -> {
        // the hold becomes the real cost (nothing for a failed call), then the answer is recorded
        Future<Void> settled = admission.settle(ticket, ar.succeeded() ? ar.result() : null);
        Future<ModelCall.Reply> recorded = ar.succeeded() ? record(request, ar.result()) : Future.failedFuture(ar.cause());
        return Future.join(settled, recorded).transform(all -> recorded);
      })
      .onComplete(ar -> {
        if (callId != null) {
          running.remove(callId, call);
        }
      });
  }

  /** Every call is in the ledger before its answer leaves: {@code /v1/spend} never lags an answer. */
  private Future<ModelCall.Reply> record(ModelCall.Request request, ModelCall.Reply reply) {
    ModelCall.Usage u = reply.usage();
    JsonObject usage = new JsonObject().put("agent", request.agent()).put("model", reply.model())
      .put("key", reply.keyId() == null ? "-" : reply.keyId()).put("input", u.input()).put("output", u.output())
      .put("cached_input", u.cachedInput()).put("cache_write", u.cacheWrite()).put("reasoning", u.reasoning())
      .put("usd", reply.costUsd()).put("cached", reply.cached());
    if (request.client() != null) {
      usage.put("client", request.client());
    }
    // the ledger's record is a local consumer: a local signature, no digest of the row to compute twice
    return vertx.eventBus().request(LedgerVerticle.RECORD, usage, signer.signLocal(LedgerVerticle.RECORD, null))
      .map(ignored -> reply).otherwise(reply);
  }

  private Future<ModelCall.Reply> withFallbacks(ModelCall.Request request, List<String> chain, int i, long deadline,
                                                Running call) {
    HubConfig.Model model = config.models().get(chain.get(i));
    return cached(request, model, deadline, call).recover(err -> {
      boolean canFall = i + 1 < chain.size() && !(err instanceof ProviderLane.Rejected)
        && !(err instanceof ProviderLane.StreamBroken) && !call.cancelled && System.nanoTime() < deadline;
      if (!canFall) {
        return Future.failedFuture(err);
      }
      metrics.fallback(chain.get(i), chain.get(i + 1));
      return withFallbacks(request, chain, i + 1, deadline, call);
    });
  }

  /** An agent's routine model answers from the cache when it can (a hit costs nothing), and fills it. */
  private Future<ModelCall.Reply> cached(ModelCall.Request request, HubConfig.Model model, long deadline, Running call) {
    AgentSpec agent = config.agent(request.agent()).orElse(null);
    boolean routine = agent != null && agent.routineModel().equals(model.id());
    if (agent == null || !agent.cache() || !routine) {
      return attempt(request, model, deadline, call);
    }
    String scope = agent.sensitive() ? "agent:" + agent.id() : "standard";
    String key = ResponseCache.key(scope, model.id(), request.messages(), request.tools(), request.toolChoice(),
      request.maxTokens(), request.stop());
    // a sensitive agent's answers stay on this node: cluster maps cross the network unencrypted
    boolean nodeOnly = agent.sensitive();
    return cache.get(key, nodeOnly).compose(hit -> {
      if (hit != null) {
        metrics.cacheHit(model.id());
        ModelCall.Reply r = ModelCall.Reply.fromJson(hit);
        if (request.stream() != null && !r.content().isEmpty()) {
          Consumer<String> out = deltas(request.stream());
          SimProvider.pieces(r.content()).forEach(out);
        }
        return Future.succeededFuture(new ModelCall.Reply(r.content(), r.toolCalls(), model.id(), r.usage(), 0.0, true,
          0, "cache", r.finishReason()));
      }
      return attempt(request, model, deadline, call).onSuccess(reply -> {
        if (!reply.cancelled()) {
          cache.put(key, reply.toJson(), nodeOnly);
        }
      });
    });
  }

  private Future<ModelCall.Reply> attempt(ModelCall.Request request, HubConfig.Model model, long deadline,
                                          Running call) {
    if (call.cancelled) {
      return Future.succeededFuture(new ModelCall.Reply("", null, model.id(), ModelCall.Usage.NONE, 0, false, 0, null,
        ModelCall.CANCELLED));
    }
    ModelDispatch.Attempt attempt = dispatch.start(request, model, deadline,
      request.stream() == null ? null : deltas(request.stream()));
    call.cancelAttempt = attempt.cancel();
    return attempt.reply();
  }

  /** Sends the answer's pieces to the stream's address, each with its offset in the turn's answer. */
  private Consumer<String> deltas(ModelCall.Stream stream) {
    int[] offset = {stream.offset()};
    return text -> {
      vertx.eventBus().send(stream.address(), new JsonObject().put("text", text), new DeliveryOptions()
        .addHeader(ModelCall.STREAM_ID, stream.id()).addHeader(ModelCall.OFFSET, Integer.toString(offset[0])));
      offset[0] += text.length();
    };
  }
}
