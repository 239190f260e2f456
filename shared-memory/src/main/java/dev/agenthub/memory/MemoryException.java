package dev.agenthub.memory;

/** A memory operation that did not happen, with a kind a caller can act on. */
public final class MemoryException extends RuntimeException {

  /** What went wrong; {@link #status()} is the matching HTTP status. */
  public enum Kind {
    INVALID(400), REFUSED(403), NOT_FOUND(404), CONFLICT(409), TOO_LARGE(413), UNAVAILABLE(503), IO(500),
    /** A session transcript write under a claim that a newer claim replaced: another instance owns it now. */
    FENCED(423),
    /** A claim the writer no longer knows (it changed, or forgot old claims): claim the session again. */
    STALE_CLAIM(412),
    /** Replication: a batch from a writer whose epoch is older than one this replica promised to follow. */
    STALE_WRITER(410),
    /** Replication: a batch that does not follow this replica's last one: it must catch up first. */
    OUT_OF_ORDER(416);

    private final int status;

    Kind(int status) {
      this.status = status;
    }

    public int status() {
      return status;
    }

    public static Kind ofStatus(int status) {
      for (Kind k : values()) {
        if (k.status == status) {
          return k;
        }
      }
      return IO;
    }
  }

  private final Kind kind;

  public MemoryException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
