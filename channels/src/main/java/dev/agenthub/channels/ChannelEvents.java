package dev.agenthub.channels;

import io.vertx.core.json.JsonObject;

/** What the channels report (the node's metrics implement it). */
public interface ChannelEvents {

  /**
   * One message: {@code direction} {@code in} or {@code out}; {@code outcome} for {@code in}:
   * {@code accepted}, {@code duplicate}, {@code ignored}, {@code refused} (bad signature); for
   * {@code out}: {@code sent}, {@code failed}, {@code dropped} (a full queue).
   */
  void channelMessage(String channel, String direction, String outcome);

  /** A message sent, from its first attempt to the platform's answer (pacing waits included). */
  void channelSend(String channel, long nanos);

  /** An audit line ({@code channel_refused}, {@code channel_ignored}, ...). */
  void audit(String type, JsonObject detail);

  ChannelEvents NONE = new ChannelEvents() {
    @Override
    public void channelMessage(String channel, String direction, String outcome) {
    }

    @Override
    public void channelSend(String channel, long nanos) {
    }

    @Override
    public void audit(String type, JsonObject detail) {
    }
  };
}
