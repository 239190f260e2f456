package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

/**
 * A checked memory file name: relative, {@code /}-separated, no {@code ..}, no hidden segments,
 * {@code .md} only. Symlink escapes are checked by the store against the real directory.
 */
public record MemoryPath(String value) {

  private static final int MAX_SEGMENT = 160;
  private static final int MAX_LENGTH = 512;
  private static final int MAX_DEPTH = 8;

  public MemoryPath {
    value = check(value);
  }

  public static MemoryPath of(String value) {
    return new MemoryPath(value);
  }

  /** Top-level directory ({@code shared}, {@code agents}, {@code spend}). */
  public String top() {
    int slash = value.indexOf('/');
    return slash < 0 ? "" : value.substring(0, slash);
  }

  /** True if this path is {@code prefix} itself or lies under the directory {@code prefix}. */
  public boolean isUnder(String prefix) {
    String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
    return value.equals(p) || value.startsWith(p + "/");
  }

  static String check(String name) {
    if (name == null || name.isEmpty()) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "a memory path is required");
    }
    if (name.length() > MAX_LENGTH) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "memory path longer than " + MAX_LENGTH + " characters");
    }
    if (name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0
      || name.length() > 1 && name.charAt(1) == ':' && isAsciiLetter(name.charAt(0))) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "memory paths are relative to the memory directory: '"
        + printable(name) + "'");
    }
    // checked by hand, not by a regex: every memory request checks its path on the writer's event loop
    int depth = 0;
    int start = 0;
    while (start <= name.length()) {
      int end = name.indexOf('/', start);
      if (end < 0) {
        end = name.length();
      }
      if (++depth > MAX_DEPTH) {
        throw new Failure(Failure.Kind.BAD_REQUEST, "memory path deeper than " + MAX_DEPTH + " levels");
      }
      checkSegment(name, start, end);
      start = end + 1;
    }
    if (!name.endsWith(".md") || name.endsWith("/.md")) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "memory files are Markdown: the name must end in .md");
    }
    return name;
  }

  private static void checkSegment(String name, int start, int end) {
    int length = end - start;
    if (length == 1 && name.charAt(start) == '.' || length == 2 && name.startsWith("..", start)) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "'..' and '.' are not allowed in memory paths: '"
        + printable(name) + "'");
    }
    boolean ok = length >= 1 && length <= MAX_SEGMENT && name.charAt(start) != '.';
    for (int i = start; ok && i < end; i++) {
      char c = name.charAt(i);
      ok = isAsciiLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '@' || c == ':' || c == '-';
    }
    if (!ok) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "bad memory path segment '"
        + printable(name.substring(start, end)) + "' (letters, digits, _ . @ : -, not starting with '.')");
    }
  }

  private static boolean isAsciiLetter(char c) {
    return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z';
  }

  private static String printable(String s) {
    String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
