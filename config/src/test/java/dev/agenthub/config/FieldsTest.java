package dev.agenthub.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FieldsTest {

  @Test
  void durationsAndSizes() {
    assertThat(Fields.parseDurationMs("f", "500ms")).isEqualTo(500);
    assertThat(Fields.parseDurationMs("f", "30m")).isEqualTo(1_800_000);
    assertThat(Fields.parseDurationMs("f", "1h")).isEqualTo(3_600_000);
    assertThat(Fields.parseDurationMs("f", "0")).isZero();
    assertThatThrownBy(() -> Fields.parseDurationMs("f", "soon")).hasMessageStartingWith("f: must be a duration");
  }
}
