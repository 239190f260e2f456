package dev.agenthub.agents;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AgentSpecTest {

  @ParameterizedTest
  @EnumSource(AgentSpec.Trust.class)
  void aTrustIsReadBackByItsName(AgentSpec.Trust trust) {
    assertThat(AgentSpec.Trust.of(trust.id())).isEqualTo(trust);
  }

  @Test
  void onlyTheNamesOfTheTrustsAreTrusts() {
    for (String name : new String[] {"high", "Sensitive", "STANDARD", "", null}) {
      assertThatThrownBy(() -> AgentSpec.Trust.of(name)).as(String.valueOf(name))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("must be standard or sensitive, got '" + name + "'");
    }
  }

  @Test
  void aSpecCrossesAsJsonWithItsTrust() {
    AgentSpec spec = new AgentSpec("vault", AgentSpec.Trust.SENSITIVE, 1, List.of("secure"), "local", "local",
      List.of("memory.read"), AgentSpec.Limits.defaults(), "p", List.of(), List.of(), 0, null, null, List.of(), true, 1,
      false);
    assertThat(spec.toJson().getString("trust")).isEqualTo("sensitive");
    assertThat(AgentSpec.fromJson(spec.toJson())).isEqualTo(spec);
    assertThat(AgentSpec.fromJson(spec.toJson()).sensitive()).isTrue();
    AgentSpec described = new AgentSpec("vault", AgentSpec.Trust.SENSITIVE, 1, List.of("secure"), "local", "local",
      List.of("memory.read"), AgentSpec.Limits.defaults(), "p", List.of(), List.of(), 0, null, null, List.of(), true, 1,
      false, "Keeps secrets.");
    assertThat(AgentSpec.fromJson(described.toJson())).isEqualTo(described);
    assertThat(AgentSpec.fromJson(described.toJson()).description()).isEqualTo("Keeps secrets.");
  }
}
