package dev.agenthub.channels;

import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * What a channel needs of its node: a turn run as a client on an agent, with that client's rights,
 * rate and budget, through the node's one intake (the hub implements it over its {@code TurnIntake}).
 */
public interface ChannelIntake {

  /** The turn's reply (the message reply's JSON), or a failed future with a {@code Failure}. */
  Future<JsonObject> ask(String client, String agent, Turn.Request request);
}
