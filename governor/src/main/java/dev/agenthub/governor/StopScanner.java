package dev.agenthub.governor;

import java.util.List;

/**
 * Applies stop sequences to text that arrives in pieces, for models that do not take {@code stop}
 * themselves: it passes on what cannot be the start of a stop sequence and holds back the rest until
 * the next piece tells, so a sequence cut across two pieces is still found and never shown.
 */
public final class StopScanner {

  private final List<String> stops;
  private final int longest;
  private final StringBuilder held = new StringBuilder();
  private boolean stopped;

  public StopScanner(List<String> stops) {
    this.stops = stops;
    this.longest = stops.stream().mapToInt(String::length).max().orElse(0);
  }

  /** Text of the answer so far that is safe to pass on (empty while it may be a stop's beginning). */
  public String feed(String piece) {
    if (stopped || piece.isEmpty()) {
      return "";
    }
    held.append(piece);
    int cut = firstStop(held);
    if (cut >= 0) {
      stopped = true;
      String out = held.substring(0, cut);
      held.setLength(0);
      return out;
    }
    // keep the longest tail that could still grow into a stop sequence
    int keep = 0;
    for (int n = Math.min(longest - 1, held.length()); n > 0; n--) {
      if (startsSomeStop(held, held.length() - n)) {
        keep = n;
        break;
      }
    }
    String out = held.substring(0, held.length() - keep);
    held.delete(0, held.length() - keep);
    return out;
  }

  /** The stream ended without a stop: what was held back is part of the answer after all. */
  public String flush() {
    String out = stopped ? "" : held.toString();
    held.setLength(0);
    return out;
  }

  public boolean stopped() {
    return stopped;
  }

  /** {@code text} cut at its first stop sequence (or whole). */
  public static String cut(String text, List<String> stops) {
    int at = -1;
    for (String s : stops) {
      int i = text.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
      }
    }
    return at < 0 ? text : text.substring(0, at);
  }

  private int firstStop(CharSequence text) {
    String s = text.toString();
    int end = cut(s, stops).length();
    return end == s.length() ? -1 : end;
  }

  private boolean startsSomeStop(CharSequence text, int from) {
    String tail = text.subSequence(from, text.length()).toString();
    for (String s : stops) {
      if (s.startsWith(tail)) {
        return true;
      }
    }
    return false;
  }
}
