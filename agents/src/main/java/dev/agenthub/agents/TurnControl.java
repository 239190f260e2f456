package dev.agenthub.agents;

/**
 * What the instance knows of one running turn, so that it can be cancelled (a streaming client went
 * away): a flag the turn checks between steps, and the id of the model call in flight, which the
 * governor can cut short. Lives on the agent's context.
 */
final class TurnControl {

  private boolean cancelled;
  private String callInFlight;

  boolean cancelled() {
    return cancelled;
  }

  /** Marks the turn cancelled; returns the id of the model call to cut short, or null. */
  String cancel() {
    cancelled = true;
    return callInFlight;
  }

  void calling(String callId) {
    callInFlight = callId;
  }
}
