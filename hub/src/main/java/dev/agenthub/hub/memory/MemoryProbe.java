package dev.agenthub.hub.memory;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.MessageAuth;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Watches shared memory from one node: whether a writer answers (for {@code /health/ready}), who it
 * is (for {@code /v1/cluster}), and how big the memory has grown (for {@code /metrics}).
 */
public final class MemoryProbe extends VerticleBase {

  private static final long PING_MS = 1_000;
  private static final long SIZES_MS = 15_000;

  private final MeterRegistry registry;
  private volatile JsonObject writer;
  private volatile long files = -1;
  private volatile long bytes = -1;
  private MemoryClient client;

  private final MessageAuth.Signer signer;

  /** @param signer this node's signer: pings are signed as the node */
  public MemoryProbe(MeterRegistry registry, MessageAuth.Signer signer) {
    this.registry = registry;
    this.signer = signer;
  }

  /** True when a writer answered the last ping. */
  public boolean reachable() {
    return writer != null;
  }

  /**
   * True when a write would go through now: a writer answers and does not say {@code writes: held}
   * (with replicated memory, it cannot reach enough in-sync copies).
   */
  public boolean writesOk() {
    JsonObject w = writer;
    return w != null && !"held".equals(w.getString("writes"));
  }

  /** {@code {writer, epoch, writes}} of the active writer, or null. */
  public JsonObject writer() {
    return writer;
  }

  @Override
  public Future<?> start() {
    client = new MemoryClient(vertx, signer, PING_MS * 2);
    Gauge.builder("agenthub_memory_files", this, p -> p.files).description("Markdown files in shared memory")
      .register(registry);
    Gauge.builder("agenthub_memory_bytes", this, p -> p.bytes).description("Bytes of Markdown in shared memory")
      .baseUnit("bytes").register(registry);
    vertx.setPeriodic(PING_MS, id -> ping());
    vertx.setPeriodic(SIZES_MS / 3, SIZES_MS, id -> sizes());
    return ping();
  }

  private Future<Void> ping() {
    return client.ping().transform(ar -> {
      writer = ar.succeeded() ? ar.result() : null;
      return Future.succeededFuture();
    });
  }

  private void sizes() {
    client.list("").onSuccess(json -> {
      JsonArray list = json.getJsonArray("files");
      long total = 0;
      for (int i = 0; i < list.size(); i++) {
        total += list.getJsonObject(i).getLong("bytes");
      }
      files = list.size();
      bytes = total;
    });
  }
}
