package dev.agenthub.memory;

import java.util.regex.Pattern;

/**
 * A checked memory file name: relative, {@code /}-separated, no {@code ..}, no hidden segments,
 * {@code .md} only. Symlink escapes are checked by the store against the real directory.
 */
public record MemoryPath(String value) {

  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_@:-][A-Za-z0-9_.@:-]{0,159}");
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
      throw new MemoryException(MemoryException.Kind.INVALID, "a memory path is required");
    }
    if (name.length() > MAX_LENGTH) {
      throw new MemoryException(MemoryException.Kind.INVALID, "memory path longer than " + MAX_LENGTH + " characters");
    }
    if (name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0 || name.matches("^[A-Za-z]:.*")) {
      throw new MemoryException(MemoryException.Kind.INVALID, "memory paths are relative to the memory directory: '"
        + printable(name) + "'");
    }
    String[] segments = name.split("/", -1);
    if (segments.length > MAX_DEPTH) {
      throw new MemoryException(MemoryException.Kind.INVALID, "memory path deeper than " + MAX_DEPTH + " levels");
    }
    for (String segment : segments) {
      if (segment.equals("..") || segment.equals(".")) {
        throw new MemoryException(MemoryException.Kind.INVALID, "'..' and '.' are not allowed in memory paths: '"
          + printable(name) + "'");
      }
      if (!SEGMENT.matcher(segment).matches()) {
        throw new MemoryException(MemoryException.Kind.INVALID, "bad memory path segment '" + printable(segment)
          + "' (letters, digits, _ . @ : -, not starting with '.')");
      }
    }
    if (!name.endsWith(".md") || name.endsWith("/.md")) {
      throw new MemoryException(MemoryException.Kind.INVALID, "memory files are Markdown: the name must end in .md");
    }
    return name;
  }

  private static String printable(String s) {
    String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
