package dev.agenthub.memory;

/**
 * The memory writer's event-bus addresses, named once for both sides ({@link SharedMemoryVerticle}
 * serves them, {@link MemoryClient} calls them). Requests carry the caller's identity token.
 */
public final class MemoryAddresses {

  /** {@code {path, section?, claim?}}: a file, one section of it, or a session's transcript with a claim. */
  public static final String READ = "memory.read";
  /** {@code {op: append|replace, path, author?, text, write_id?, claim?}}: answered once durable. */
  public static final String WRITE = "memory.write";
  /** {@code {prefix}}: the files under a prefix. */
  public static final String LIST = "memory.list";
  /** {@code {query, prefix?}}: matching lines of the files the caller may read. */
  public static final String SEARCH = "memory.search";
  /** {@code {}}: the active writer and its epoch. */
  public static final String PING = "memory.ping";
  /** Published after every durable change: {@code {path, bytes, op}}. */
  public static final String CHANGED = "memory.changed";

  private MemoryAddresses() {
  }
}
