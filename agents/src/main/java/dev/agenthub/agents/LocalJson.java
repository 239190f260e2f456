package dev.agenthub.agents;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;

/**
 * A JSON object handed to a consumer on the same node without the deep copy the event bus makes
 * by default. Only for messages whose sender never touches them after sending and whose receiver
 * never changes them: a model call carries the agent's whole context, and copying it on every call
 * is a tenth of a node's work. On the wire (never used by local consumers) it is plain JSON.
 */
public final class LocalJson implements MessageCodec<JsonObject, JsonObject> {

  public static final String NAME = "agenthub.local-json";
  private static final LocalJson INSTANCE = new LocalJson();

  private LocalJson() {
  }

  /** Registers the codec on this Vert.x (once; later calls do nothing). */
  public static synchronized void register(Vertx vertx) {
    try {
      vertx.eventBus().registerCodec(INSTANCE);
    } catch (IllegalStateException alreadyRegistered) {
      // registered by another agent instance of this node
    }
  }

  /** Delivery options that send a JSON object by reference to a local consumer. */
  public static DeliveryOptions options() {
    return new DeliveryOptions().setCodecName(NAME);
  }

  @Override
  public void encodeToWire(Buffer buffer, JsonObject json) {
    Buffer encoded = json.toBuffer();
    buffer.appendInt(encoded.length()).appendBuffer(encoded);
  }

  @Override
  public JsonObject decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return new JsonObject(buffer.getBuffer(pos + 4, pos + 4 + length));
  }

  @Override
  public JsonObject transform(JsonObject json) {
    return json;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
