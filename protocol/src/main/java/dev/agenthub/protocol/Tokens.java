package dev.agenthub.protocol;

/** Token estimates: about four characters a token, the rule of thumb for English text. */
public final class Tokens {

  private Tokens() {
  }

  /** Estimated tokens of {@code text}: one per four characters, at least one for non-empty text. */
  public static int estimate(String text) {
    if (text == null || text.isEmpty()) {
      return 0;
    }
    return (text.length() + 3) / 4;
  }
}
