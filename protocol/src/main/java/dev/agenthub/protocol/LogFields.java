package dev.agenthub.protocol;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxBootstrap;
import io.vertx.core.spi.VertxServiceProvider;
import io.vertx.core.spi.context.storage.ContextLocal;

/**
 * What a log line should name about the work in hand: the agent, the session and the request. Kept
 * on the Vert.x context that handles one request or one message (a duplicated context), so every
 * line logged while handling it, in any callback, can carry them; the JSON log formatter reads them.
 */
public record LogFields(String agent, String session, String requestId) {

  // registered before the first Vert.x instance exists, through {@link Loader} (a Vert.x service)
  static final ContextLocal<LogFields> LOCAL = ContextLocal.registerLocal(LogFields.class);

  /** Names the work of the current context (a request's or a message's own context only). */
  public static void put(String agent, String session, String requestId) {
    Context context = Vertx.currentContext();
    if (context != null) {
      context.putLocal(LOCAL, new LogFields(agent, session, requestId));
    }
  }

  /** The fields of the current context, or null. */
  public static LogFields current() {
    Context context = Vertx.currentContext();
    return context == null ? null : context.getLocal(LOCAL);
  }

  /**
   * Loaded by Vert.x as a service while it starts, so the context local above is registered before
   * any context exists (Vert.x refuses later registrations).
   */
  public static final class Loader implements VertxServiceProvider {
    static {
      ContextLocal<LogFields> registered = LOCAL;
    }

    @Override
    public void init(VertxBootstrap bootstrap) {
      // nothing to add: loading this class registered the context local
    }
  }
}
