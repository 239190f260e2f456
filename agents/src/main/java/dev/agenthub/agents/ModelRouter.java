package dev.agenthub.agents;

import java.util.List;
import java.util.Locale;

/**
 * Picks the routine (small, cheap) or the complex (large) model for a turn, from rules a user can
 * predict: an explicit hint wins; then a {@code /complex} or {@code /routine} line; then long
 * messages, several tool requests, or markers of reasoning work go to the complex model; everything
 * else is routine. A routine answer that fails is retried once on the complex model (escalation).
 */
public final class ModelRouter {

  /** Which model a turn uses and why. */
  public enum Route { ROUTINE, COMPLEX, ESCALATED }

  static final int LONG_MESSAGE_CHARS = 1_500;
  private static final List<String> MARKERS = List.of("step by step", "analyze", "analyse", "compare",
    "trade-off", "tradeoff", "root cause", "design a", "plan for", "explain in detail", "prove", "debug");

  private ModelRouter() {
  }

  public static Route route(String text, String hint) {
    if ("complex".equals(hint)) {
      return Route.COMPLEX;
    }
    if ("routine".equals(hint)) {
      return Route.ROUTINE;
    }
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.equals("/complex")) {
        return Route.COMPLEX;
      }
      if (l.equals("/routine")) {
        return Route.ROUTINE;
      }
    }
    if (text.length() > LONG_MESSAGE_CHARS) {
      return Route.COMPLEX;
    }
    if (text.lines().filter(l -> l.startsWith("/tool ")).count() > 1) {
      return Route.COMPLEX;
    }
    String lower = text.toLowerCase(Locale.ROOT);
    for (String marker : MARKERS) {
      if (lower.contains(marker)) {
        return Route.COMPLEX;
      }
    }
    return Route.ROUTINE;
  }
}
