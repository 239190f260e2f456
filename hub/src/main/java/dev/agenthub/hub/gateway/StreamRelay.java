package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.ModelCall;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Where the pieces of streamed answers come back to one gateway: one event-bus address per gateway
 * instance (never one per stream: a clustered consumer is cluster-wide state), the stream named by a
 * header of each piece. The governor that streams the answer may run on any node. Lives on the
 * gateway's context.
 */
final class StreamRelay {

  /**
   * The part of a piece not yet passed on, for a receiver that has passed on {@code sent} characters
   * of the answer; null for a piece already passed on, or one after a gap (the final reply fills it).
   */
  static String unsent(int sent, int offset, String text) {
    if (offset > sent || offset + text.length() <= sent) {
      return null;
    }
    return text.substring(sent - offset);
  }

  /** Receives the pieces of one stream: text and its offset in the answer. */
  interface Sink {
    void piece(int offset, String text);
  }

  private final String address;
  private final Map<String, Sink> sinks = new HashMap<>();
  private final MessageConsumer<Object> consumer;

  StreamRelay(Vertx vertx, String node) {
    this.address = "agenthub.gateway." + node + "." + UUID.randomUUID();
    this.consumer = vertx.eventBus().consumer(address, this::onPiece);
  }

  Future<Void> ready() {
    return consumer.completion();
  }

  String address() {
    return address;
  }

  /** Opens a stream; pieces for it go to {@code sink} until {@link #close}. */
  ModelCall.Stream open(Sink sink) {
    String id = UUID.randomUUID().toString();
    sinks.put(id, sink);
    return new ModelCall.Stream(address, id, 0);
  }

  void close(ModelCall.Stream stream) {
    sinks.remove(stream.id());
  }

  private void onPiece(Message<Object> message) {
    Sink sink = sinks.get(message.headers().get(ModelCall.STREAM_ID));
    if (sink == null || !(message.body() instanceof JsonObject body) || !(body.getValue("text") instanceof String text)) {
      return; // a stream already answered (or gone): its late pieces mean nothing
    }
    int offset;
    try {
      offset = Integer.parseInt(message.headers().get(ModelCall.OFFSET));
    } catch (RuntimeException e) {
      return;
    }
    sink.piece(offset, text);
  }
}
