package dev.agenthub.memory;

import dev.agenthub.protocol.MessageAuth;

/**
 * The memory writer's event-bus addresses, named once for both sides ({@link SharedMemoryVerticle}
 * serves them, {@link MemoryClient} calls them). Requests are signed by the caller
 * ({@link MessageAuth}): the writer takes who asks from the signature.
 */
public final class MemoryAddresses {

  /** {@code {path, section?, claim?}}: a file, one section of it, or a session's transcript with a claim. */
  public static final String READ = "memory.read";
  /**
   * {@code {path, section?}}: a file as any memory node holds it. With replicated memory a follower
   * may answer, as of the last batch it applied (it may lag the writer by a few milliseconds); no
   * claims, no read-your-writes. For reads that can be that stale: the rest go to {@link #READ}.
   */
  public static final String READ_ANY = "memory.read.any";
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
