package dev.agenthub.hub.cluster;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** When a member that does not answer becomes an intruder, and when it stops being one. */
class ProvenMembersTest {

  private static final UUID A = UUID.fromString("00000000-0000-0000-0000-00000000000a");
  private static final UUID B = UUID.fromString("00000000-0000-0000-0000-00000000000b");

  @Test
  void anIntruderFailsEnoughChallengesOverTheDeadline() {
    ProvenMembers members = new ProvenMembers();
    Map<UUID, String> present = Map.of(A, "10.0.0.1:5701");
    long t = 1_000;
    // fails fast (no handlers) many times, but before the deadline: not yet
    for (int i = 0; i < 5; i++) {
      assertThat(members.due(present, t)).containsExactly(A);
      assertThat(members.failed(A, t)).isFalse();
      t += 1_000;
    }
    assertThat(members.intruders()).isEmpty();
    t = 1_000 + ProvenMembers.DEADLINE_MS;
    assertThat(members.due(present, t)).containsExactly(A);
    assertThat(members.failed(A, t)).as("named once").isTrue();
    assertThat(members.intruders()).containsExactly(new ProvenMembers.Intruder(A, "10.0.0.1:5701"));
    // still challenged, never named twice
    assertThat(members.due(present, t + 3_000)).containsExactly(A);
    assertThat(members.failed(A, t + 3_000)).isFalse();
    // it leaves: forgotten, reported as gone
    assertThat(members.forget(Set.of())).containsExactly(new ProvenMembers.Intruder(A, "10.0.0.1:5701"));
    assertThat(members.intruders()).isEmpty();
  }

  @Test
  void aSlowMemberNeedsTheAttemptsToo() {
    ProvenMembers members = new ProvenMembers();
    Map<UUID, String> present = Map.of(A, "10.0.0.1:5701");
    // one challenge that timed out after the deadline is not enough
    assertThat(members.due(present, 0)).containsExactly(A);
    assertThat(members.due(present, 3_000)).as("one challenge in flight at a time").isEmpty();
    assertThat(members.failed(A, ProvenMembers.DEADLINE_MS + 5_000)).isFalse();
    assertThat(members.intruders()).isEmpty();
  }

  @Test
  void aMemberThatProvesItselfIsNeverAskedAgainAndAnIntruderThatProvesIsCleared() {
    ProvenMembers members = new ProvenMembers();
    Map<UUID, String> present = Map.of(A, "10.0.0.1:5701", B, "10.0.0.2:5701");
    assertThat(members.due(present, 0)).containsExactlyInAnyOrder(A, B);
    assertThat(members.proved(A)).isFalse();
    long t = ProvenMembers.DEADLINE_MS;
    for (int i = 0; i < ProvenMembers.ATTEMPTS; i++) {
      members.failed(B, t);
      assertThat(members.due(present, t)).containsExactly(B);
    }
    assertThat(members.intruders()).extracting(ProvenMembers.Intruder::uuid).containsExactly(B);
    assertThat(members.proved(B)).as("was an intruder").isTrue();
    assertThat(members.intruders()).isEmpty();
    assertThat(members.due(present, t + 3_000)).isEmpty();
    // an answer about a member gone meanwhile changes nothing
    members.forget(Set.of(A));
    assertThat(members.failed(B, t + 60_000)).isFalse();
    assertThat(members.intruders()).isEmpty();
  }
}
