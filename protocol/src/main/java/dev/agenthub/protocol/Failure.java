package dev.agenthub.protocol;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

import java.util.Locale;
import java.util.Objects;

/**
 * The one shape of a failure, everywhere in the hub: a {@link Kind} (which fixes its HTTP status,
 * error type and code), a message for people, and optionally the request field at fault and when
 * a retry may help. Thrown inside a module, sent as a reply on the bus (it is a {@link ReplyException};
 * {@link #CODEC} carries its kind between nodes), and mapped once at each edge: the HTTP error
 * object, the event-bus API's failure, a tool result. See "Contract: failures" in ARCHITECTURE.md.
 */
public final class Failure extends ReplyException {

  /**
   * What went wrong. The HTTP status is a standard one but for 499 (the caller cancelled); several
   * kinds share a status when the caller acts on them differently (a full queue, a rate limit and a
   * budget are all 429, only the first two worth a retry soon).
   */
  public enum Kind {
    BAD_REQUEST(400, "invalid_request_error", null),
    /** A request field the hub does not support (OpenAI's {@code unsupported_parameter}). */
    UNSUPPORTED(400, "invalid_request_error", "unsupported_parameter"),
    UNAUTHORIZED(401, "authentication_error", null),
    FORBIDDEN(403, "permission_error", null),
    NOT_FOUND(404, "not_found", null),
    /** A model the OpenAI-compatible door does not know: OpenAI's own shape for it. */
    MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
    METHOD_NOT_ALLOWED(405, "method_not_allowed", null),
    /** The request's body did not arrive within {@code node.http.body-timeout}. */
    REQUEST_TIMEOUT(408, "request_timeout", null),
    CONFLICT(409, "conflict", null),
    /** Another instance claimed the session while this turn ran: the gateway sends the turn again. */
    SESSION_MOVED(409, "session_moved", null, 1L),
    /** Memory: a transcript write under a claim a newer claim replaced (another instance owns the session). */
    FENCED(409, "fenced", null),
    /** Memory: a claim the writer no longer knows (it changed, or forgot old claims): claim again. */
    STALE_CLAIM(409, "stale_claim", null),
    /** Replication: a batch from a writer older than one this copy promised to follow. */
    STALE_WRITER(409, "stale_writer", null),
    /** Replication: a batch that does not follow this copy's last one: it must catch up first. */
    OUT_OF_ORDER(409, "out_of_order", null),
    TOO_LARGE(413, "request_too_large", null),
    /** The agent's queue is full: retry in a second. */
    QUEUE_FULL(429, "queue_full", "queue_full", 1L),
    /** A client's request rate or tokens per minute: retry after the bucket refills. */
    RATE_LIMITED(429, "rate_limit_exceeded", "rate_limit_exceeded", 1L),
    /** A budget has no room: a retry will not help before the period ends (SDKs are told not to retry). */
    BUDGET_EXCEEDED(429, "budget_exceeded", "budget_exceeded", 3600L),
    /** The caller went away or cancelled: nobody reads the answer. */
    CANCELLED(499, "cancelled", null),
    INTERNAL(500, "internal_error", null),
    MODEL_ERROR(502, "model_error", null),
    /** The model failed after part of its answer was streamed: never retried elsewhere. */
    STREAM_BROKEN(502, "model_error", "stream_broken"),
    UNAVAILABLE(503, "unavailable", null, 1L),
    /** No answer in time: the model, or the agent the turn waited for. */
    TIMEOUT(504, "timeout", "timeout");

    private final int status;
    private final String type;
    private final String code;
    private final Long retryAfterSeconds;

    Kind(int status, String type, String code) {
      this(status, type, code, null);
    }

    Kind(int status, String type, String code, Long retryAfterSeconds) {
      this.status = status;
      this.type = type;
      this.code = code;
      this.retryAfterSeconds = retryAfterSeconds;
    }

    /** The HTTP status the edges answer. */
    public int status() {
      return status;
    }

    /** The error object's {@code type}. */
    public String type() {
      return type;
    }

    /** The error object's {@code code}, or null. */
    public String code() {
      return code;
    }

    /** The kind's name on the wire: {@code session_moved}. */
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The kind of a wire name, or null. */
    public static Kind ofId(String id) {
      for (Kind k : values()) {
        if (k.id().equals(id)) {
          return k;
        }
      }
      return null;
    }

    /**
     * The kind of an error object as the edges answer it (its status, {@code type} and {@code code}):
     * the one that matches all three, else status and type, else the first of the status.
     */
    public static Kind of(int status, String type, String code) {
      Kind byType = null;
      for (Kind k : values()) {
        if (k.status != status || !k.type.equals(type)) {
          continue;
        }
        if (Objects.equals(k.code, code)) {
          return k;
        }
        if (byType == null && k.code == null) {
          byType = k; // a finer code than the kind's own (bad_request with decimal_below_min_value)
        }
      }
      return byType != null ? byType : ofStatus(status);
    }


    /** The first kind with an HTTP status (a failure from outside the hub), else {@link #INTERNAL}. */
    public static Kind ofStatus(int status) {
      for (Kind k : values()) {
        if (k.status == status) {
          return k;
        }
      }
      return INTERNAL;
    }
  }

  private final Kind kind;
  private final String param;
  private final Long retryAfterSeconds;
  private final String code;

  public Failure(Kind kind, String message) {
    this(kind, message, null, null);
  }

  /** A failure after which a retry may help in {@code retryAfterSeconds} (null: the kind's default). */
  public Failure(Kind kind, String message, Long retryAfterSeconds) {
    this(kind, message, null, retryAfterSeconds);
  }

  /**
   * @param param             the request field at fault, or null
   * @param retryAfterSeconds when a retry may help, or null for the kind's default
   */
  public Failure(Kind kind, String message, String param, Long retryAfterSeconds) {
    this(kind, message, param, retryAfterSeconds, null);
  }

  /** A failure with a finer {@code code} than its kind's (null: the kind's), as an error object may carry one. */
  public Failure(Kind kind, String message, String param, Long retryAfterSeconds, String code) {
    super(ReplyFailure.RECIPIENT_FAILURE, kind.status, message == null ? kind.type : message, true);
    this.kind = kind;
    this.param = param;
    this.retryAfterSeconds = retryAfterSeconds;
    this.code = code;
  }

  /**
   * A 400 naming the field at fault with a finer code than the kind's (OpenAI's, such as
   * {@code decimal_below_min_value} or {@code invalid_type}), so SDKs read it as from OpenAI.
   */
  public static Failure invalid(String param, String code, String message) {
    return new Failure(Kind.BAD_REQUEST, message, param, null, code);
  }

  public static Failure of(Kind kind, String message) {
    return new Failure(kind, message);
  }

  /** A request field the hub does not support, by name (OpenAI's {@code unsupported_parameter}). */
  public static Failure unsupported(String param, String message) {
    return new Failure(Kind.UNSUPPORTED, message, param, null);
  }

  /** A 400 that names the request field at fault. */
  public static Failure badParam(String param, String message) {
    return new Failure(Kind.BAD_REQUEST, message, param, null);
  }

  /**
   * The failure a cause stands for: a failure as it is; the event bus's own (no handler, no answer
   * in time) as {@link Kind#UNAVAILABLE} and {@link Kind#TIMEOUT}; a recipient's plain failure
   * (from outside the hub) by its status; anything else as {@code otherwise} with its message
   * withheld (it may hold internals).
   */
  public static Failure from(Throwable cause, Kind otherwise, String message) {
    if (cause instanceof Failure f) {
      return f;
    }
    if (cause instanceof ReplyException re) {
      return switch (re.failureType()) {
        case NO_HANDLERS -> new Failure(Kind.UNAVAILABLE, message);
        case TIMEOUT -> new Failure(Kind.TIMEOUT, message);
        case RECIPIENT_FAILURE, ERROR -> new Failure(Kind.ofStatus(re.failureCode()), re.getMessage());
      };
    }
    return new Failure(otherwise, message);
  }

  public Kind kind() {
    return kind;
  }

  /** The request field at fault, or null. */
  public String param() {
    return param;
  }

  /** Seconds after which a retry may help: this failure's, else its kind's default (null: none). */
  public Long retryAfterSeconds() {
    return retryAfterSeconds != null ? retryAfterSeconds : kind.retryAfterSeconds;
  }

  /** The error object's code: this failure's own, else its kind's (null: none). */
  public String code() {
    return code != null ? code : kind.code;
  }

  /** The same failure with another message (an edge adding who failed). */
  public Failure withMessage(String message) {
    return new Failure(kind, message, param, retryAfterSeconds, code);
  }

  /** The contract's error object: {@code {"error":{"message","type","param","code"}}}. */
  public JsonObject toJson() {
    return new JsonObject().put("error", new JsonObject().put("message", getMessage()).put("type", kind.type)
      .put("param", param).put("code", code()));
  }

  @Override
  public String toString() {
    return kind.id() + ": " + getMessage();
  }

  /**
   * Answers a request with a failure. A refusal ({@link Kind#FORBIDDEN}, {@link Kind#UNAUTHORIZED})
   * goes as a plain {@link ReplyException} (its status and text): its sender failed authentication,
   * may not be a node and need not know {@link #CODEC}; a node reads it back as the same kind.
   */
  public static void reply(Message<?> message, Failure failure) {
    if (failure.kind == Kind.FORBIDDEN || failure.kind == Kind.UNAUTHORIZED) {
      message.fail(failure.kind.status, failure.getMessage());
    } else {
      message.reply(failure);
    }
  }

  /**
   * Registers {@link #CODEC} as the bus's codec for failures, so a failure reaches another node
   * with its kind (without it, it would arrive as a plain {@link ReplyException} with its status).
   * Every node calls it once at start; a second call does nothing.
   */
  public static void register(EventBus bus) {
    try {
      bus.registerDefaultCodec(Failure.class, CODEC);
    } catch (IllegalStateException already) {
      // registered before
    }
  }

  /** A failure on the wire: its kind's id, message, param and retry-after as a JSON object. */
  public static final MessageCodec<Failure, Failure> CODEC = new MessageCodec<>() {
    @Override
    public void encodeToWire(Buffer buffer, Failure f) {
      Buffer json = new JsonObject().put("kind", f.kind.id()).put("message", f.getMessage()).put("param", f.param)
        .put("retry_after", f.retryAfterSeconds).put("code", f.code).toBuffer();
      buffer.appendInt(json.length()).appendBuffer(json);
    }

    @Override
    public Failure decodeFromWire(int pos, Buffer buffer) {
      int length = buffer.getInt(pos);
      JsonObject json = new JsonObject(buffer.getBuffer(pos + 4, pos + 4 + length));
      Kind kind = Kind.ofId(json.getString("kind"));
      Long retry = json.getValue("retry_after") instanceof Number n ? n.longValue() : null;
      return new Failure(kind == null ? Kind.INTERNAL : kind, json.getString("message"), json.getString("param"), retry,
        json.getString("code"));
    }

    @Override
    public Failure transform(Failure f) {
      return f;
    }

    @Override
    public String name() {
      return "agenthub-failure";
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  };
}
