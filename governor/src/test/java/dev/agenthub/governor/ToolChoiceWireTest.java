package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.ToolChoice;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A client's tool choice on each provider's wire, and the sim's way of honouring it. */
class ToolChoiceWireTest {

  private static final HubConfig.Model MODEL = new HubConfig.Model("m", "p", "gpt-4o-mini", 0.15, 0.60, List.of());
  private static final JsonArray MESSAGES = new JsonArray()
    .add(new JsonObject().put("role", "system").put("content", "be brief"))
    .add(new JsonObject().put("role", "user").put("content", "weather in Paris?"));
  private static final JsonArray TOOLS = new JsonArray()
    .add(tool("get_weather"))
    .add(tool("time.now"));

  private static JsonObject tool(String name) {
    return new JsonObject().put("type", "function").put("function", new JsonObject().put("name", name)
      .put("description", "d").put("parameters", new JsonObject().put("type", "object")));
  }

  private static JsonObject openAi(JsonArray tools, ToolChoice choice) {
    return new OpenAiClient(null, null, "http://127.0.0.1:1/v1")
      .body(new ProviderClient.Call("sk", MODEL, MESSAGES, tools, choice, 100, List.of(), 1000, null), true);
  }

  private static JsonObject anthropic(JsonArray tools, ToolChoice choice) {
    return new AnthropicClient(null, null, "http://127.0.0.1:1/v1")
      .body(new ProviderClient.Call("sk", MODEL, MESSAGES, tools, choice, 100, List.of(), 1000, null), true);
  }

  @Test
  void openAiTakesTheChoiceAsItsOwnShape() {
    assertThat(openAi(TOOLS, ToolChoice.NONE).getValue("tool_choice")).isEqualTo("none");
    assertThat(openAi(TOOLS, ToolChoice.REQUIRED).getValue("tool_choice")).isEqualTo("required");
    assertThat(openAi(TOOLS, ToolChoice.function("get_weather")).getValue("tool_choice")).isEqualTo(new JsonObject()
      .put("type", "function").put("function", new JsonObject().put("name", "get_weather")));
    // a dotted name goes under its wire name, as the tool itself does
    JsonObject dotted = openAi(TOOLS, ToolChoice.function("time.now"));
    assertThat(dotted.getJsonObject("tool_choice").getJsonObject("function").getString("name")).isEqualTo("time__now");
    assertThat(dotted.getJsonArray("tools").getJsonObject(1).getJsonObject("function").getString("name"))
      .isEqualTo("time__now");
    // auto is OpenAI's default, and a choice without tools is a 400 there: neither is sent
    assertThat(openAi(TOOLS, ToolChoice.AUTO).containsKey("tool_choice")).isFalse();
    assertThat(openAi(TOOLS, null).containsKey("tool_choice")).isFalse();
    assertThat(openAi(new JsonArray(), ToolChoice.REQUIRED).containsKey("tool_choice")).isFalse();
  }

  @Test
  void anthropicTakesTheChoiceAsItsOwnShape() {
    assertThat(anthropic(TOOLS, ToolChoice.NONE).getJsonObject("tool_choice"))
      .isEqualTo(new JsonObject().put("type", "none"));
    assertThat(anthropic(TOOLS, ToolChoice.REQUIRED).getJsonObject("tool_choice"))
      .isEqualTo(new JsonObject().put("type", "any"));
    assertThat(anthropic(TOOLS, ToolChoice.function("get_weather")).getJsonObject("tool_choice"))
      .isEqualTo(new JsonObject().put("type", "tool").put("name", "get_weather"));
    assertThat(anthropic(TOOLS, ToolChoice.function("time.now")).getJsonObject("tool_choice").getString("name"))
      .isEqualTo("time__now");
    assertThat(anthropic(TOOLS, ToolChoice.AUTO).containsKey("tool_choice")).isFalse();
    assertThat(anthropic(new JsonArray(), ToolChoice.NONE).containsKey("tool_choice")).isFalse();
  }

  @Test
  void aClientsToolNameWithDoubleUnderscoresComesBackAsDots() {
    // provider clients give '__' back as '.', for the agent's own tools; the agent maps a client's back
    ProviderClient.Result r = OpenAiClient.answer(null, new JsonObject().put("choices", new JsonArray().add(
      new JsonObject().put("finish_reason", "tool_calls").put("message", new JsonObject().putNull("content")
        .put("tool_calls", new JsonArray().add(new JsonObject().put("id", "c1").put("type", "function")
          .put("function", new JsonObject().put("name", "get__weather").put("arguments", "{\"city\":\"Paris\"}"))))))));
    assertThat(r.toolCalls().getJsonObject(0).getString("name")).isEqualTo("get.weather");
    assertThat(r.toolCalls().getJsonObject(0).getJsonObject("arguments").getString("city")).isEqualTo("Paris");
    assertThat(r.finishReason()).isEqualTo("tool_calls");
  }

  @Test
  void theSimHonoursTheChoice() {
    SimProvider sim = new SimProvider();
    JsonArray asking = new JsonArray().add(new JsonObject().put("role", "user")
      .put("content", "/tool get_weather {\"city\":\"Paris\"}"));
    JsonArray plain = new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello there"));
    // auto: the /tool line is called; none: never, whatever the message says
    assertThat(sim.complete("m", asking, TOOLS, 100, List.of(), null).toolCalls()).hasSize(1);
    SimProvider.Answer none = sim.complete("m", asking, TOOLS, 100, List.of(), ToolChoice.NONE);
    assertThat(none.toolCalls()).isEmpty();
    assertThat(none.finishReason()).isEqualTo("stop");
    assertThat(none.content()).contains("/tool get_weather");
    // required: the /tool line's call, else the first tool offered with {}
    assertThat(sim.complete("m", plain, TOOLS, 100, List.of(), null).toolCalls()).isEmpty();
    SimProvider.Answer required = sim.complete("m", plain, TOOLS, 100, List.of(), ToolChoice.REQUIRED);
    assertThat(required.finishReason()).isEqualTo("tool_calls");
    assertThat(required.toolCalls().getJsonObject(0).getString("name")).isEqualTo("get_weather");
    assertThat(required.toolCalls().getJsonObject(0).getJsonObject("arguments")).isEqualTo(new JsonObject());
    // a named function: that one, with the arguments of a /tool line naming it, else {}
    SimProvider.Answer named = sim.complete("m", asking, TOOLS, 100, List.of(), ToolChoice.function("get_weather"));
    assertThat(named.toolCalls().getJsonObject(0).getJsonObject("arguments").getString("city")).isEqualTo("Paris");
    SimProvider.Answer other = sim.complete("m", asking, TOOLS, 100, List.of(), ToolChoice.function("time.now"));
    assertThat(other.toolCalls()).hasSize(1);
    assertThat(other.toolCalls().getJsonObject(0).getString("name")).isEqualTo("time.now");
    assertThat(other.toolCalls().getJsonObject(0).getJsonObject("arguments")).isEqualTo(new JsonObject());
    // a forced choice calls even when results are there; auto answers from them
    JsonArray answered = asking.copy()
      .add(new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", new JsonArray().add(
        new JsonObject().put("id", "c1").put("type", "function").put("function", new JsonObject()
          .put("name", "get_weather").put("arguments", "{}")))))
      .add(new JsonObject().put("role", "tool").put("tool_call_id", "c1").put("content", "18C and sunny"));
    SimProvider.Answer fromResults = sim.complete("m", answered, TOOLS, 100, List.of(), null);
    assertThat(fromResults.toolCalls()).isEmpty();
    assertThat(fromResults.content()).contains("18C and sunny");
    assertThat(sim.complete("m", answered, TOOLS, 100, List.of(), ToolChoice.REQUIRED).toolCalls()).hasSize(1);
  }
}
