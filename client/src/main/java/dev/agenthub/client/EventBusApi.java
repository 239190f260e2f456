package dev.agenthub.client;

/**
 * The names of the event-bus API ("Contract: the event-bus API" in docs/ARCHITECTURE.md), shared by
 * the hub that serves it and the client that calls it. Version 1.
 */
public final class EventBusApi {

  /** Requests to agent {@code <agent>} go to {@code agenthub.agents.<agent>}; every hub node serves it. */
  public static final String ADDRESS_PREFIX = "agenthub.agents.";
  /** {@code Bearer <client token>}: required when the hub has {@code clients:} configured. */
  public static final String AUTHORIZATION = "authorization";
  /** An address that receives the answer's deltas ({@code {"text"}}) before the reply. */
  public static final String STREAM_TO = "stream-to";
  /** Copied from the request onto every delta, so one consumer can tell several streams apart. */
  public static final String STREAM_ID = "stream-id";
  /**
   * On every delta: where its text starts in the answer. A message sent again (after a node left)
   * streams again from the start; the offsets let a receiver drop what it already has.
   */
  public static final String STREAM_OFFSET = "stream-offset";
  /** The version of this API, answered in the {@code agenthub-api} header of every reply. */
  public static final String VERSION_HEADER = "agenthub-api";
  public static final String VERSION = "1";

  private EventBusApi() {
  }

  public static String address(String agent) {
    return ADDRESS_PREFIX + agent;
  }
}
