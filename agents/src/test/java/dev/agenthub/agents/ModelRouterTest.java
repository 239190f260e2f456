package dev.agenthub.agents;

import dev.agenthub.agents.ModelRouter.Route;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which model a turn goes to: the caller's hint first, then the text's own markers and size. */
class ModelRouterTest {

  @Test
  void aHintDecidesThenTheTextDoes() {
    assertThat(ModelRouter.route("analyze this step by step", "routine")).isEqualTo(Route.ROUTINE);
    assertThat(ModelRouter.route("hi", "complex")).isEqualTo(Route.COMPLEX);
    assertThat(ModelRouter.route("hello\n/complex\nwhere is my parcel?", null)).isEqualTo(Route.COMPLEX);
    assertThat(ModelRouter.route("compare these two plans", null)).isEqualTo(Route.COMPLEX);
    assertThat(ModelRouter.route("/routine\ncompare these two plans", null)).isEqualTo(Route.ROUTINE);
    assertThat(ModelRouter.route("Where is my parcel?", null)).isEqualTo(Route.ROUTINE);
  }

  @Test
  void aLongMessageOrSeveralToolsGoToTheComplexModel() {
    assertThat(ModelRouter.route("a".repeat(ModelRouter.LONG_MESSAGE_CHARS + 1), null)).isEqualTo(Route.COMPLEX);
    assertThat(ModelRouter.route("a".repeat(ModelRouter.LONG_MESSAGE_CHARS), null)).isEqualTo(Route.ROUTINE);
    assertThat(ModelRouter.route("/tool time.now\n/tool memory.read {\"path\":\"x\"}", null)).isEqualTo(Route.COMPLEX);
    assertThat(ModelRouter.route("/tool time.now", null)).isEqualTo(Route.ROUTINE);
    // markers are found whatever their case
    assertThat(ModelRouter.route("Please ANALYZE the logs", null)).isEqualTo(Route.COMPLEX);
  }
}
