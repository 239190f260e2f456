package dev.agenthub.protocol;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(VertxExtension.class)
class FailureTest {

  @ParameterizedTest
  @EnumSource(Failure.Kind.class)
  void everyKindCrossesTheWireWhole(Failure.Kind kind) {
    Failure sent = new Failure(kind, "what went wrong", "a_field", 7L);
    Buffer wire = Buffer.buffer().appendString("prefix");
    Failure.CODEC.encodeToWire(wire, sent);
    Failure got = Failure.CODEC.decodeFromWire("prefix".length(), wire);
    assertThat(got.kind()).isEqualTo(kind);
    assertThat(got.getMessage()).isEqualTo("what went wrong");
    assertThat(got.param()).isEqualTo("a_field");
    assertThat(got.retryAfterSeconds()).isEqualTo(7L);
    assertThat(got.failureCode()).isEqualTo(kind.status());
    assertThat(got.toJson()).isEqualTo(sent.toJson());
  }

  @ParameterizedTest
  @EnumSource(Failure.Kind.class)
  void everyKindHasAStandardStatusAndAnErrorObject(Failure.Kind kind) {
    assertThat(kind.status()).as("standard HTTP, or 499 for a cancelled call")
      .isIn(400, 401, 403, 404, 405, 408, 409, 413, 429, 499, 500, 502, 503, 504);
    var error = new Failure(kind, "m").toJson().getJsonObject("error");
    assertThat(error.fieldNames()).containsExactlyInAnyOrder("message", "type", "param", "code");
    assertThat(error.getString("type")).isEqualTo(kind.type()).isNotBlank();
    assertThat(Failure.Kind.ofId(kind.id())).isEqualTo(kind);
  }

  @ParameterizedTest
  @EnumSource(Failure.Kind.class)
  void everyKindIsReadBackFromItsErrorObject(Failure.Kind kind) {
    // what an application sees of it (the bridge's err frame, the event-bus API's failure)
    var error = new Failure(kind, "m").toJson().getJsonObject("error");
    assertThat(Failure.Kind.of(kind.status(), error.getString("type"), error.getString("code"))).isEqualTo(kind);
  }

  @Test
  void aFinerCodeKeepsItsKind() {
    assertThat(Failure.Kind.of(400, "invalid_request_error", "decimal_below_min_value"))
      .isEqualTo(Failure.Kind.BAD_REQUEST);
    assertThat(Failure.Kind.of(418, "teapot", null)).isEqualTo(Failure.Kind.INTERNAL);
  }

  @Test
  void kindsThatShareAStatusAreToldApartByTypeOrCode() {
    Set<String> seen = new HashSet<>();
    for (Failure.Kind kind : Failure.Kind.values()) {
      assertThat(seen.add(kind.status() + "/" + kind.type() + "/" + kind.code())).as(kind.name()).isTrue();
    }
  }

  @Test
  void theBusOwnFailuresAndForeignOnesMapToAKind() {
    assertThat(Failure.from(new ReplyException(ReplyFailure.TIMEOUT, "t"), Failure.Kind.INTERNAL, "x").kind())
      .isEqualTo(Failure.Kind.TIMEOUT);
    assertThat(Failure.from(new ReplyException(ReplyFailure.NO_HANDLERS, "n"), Failure.Kind.INTERNAL, "x").kind())
      .isEqualTo(Failure.Kind.UNAVAILABLE);
    Failure plain = Failure.from(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 403, "no"), Failure.Kind.INTERNAL, "x");
    assertThat(plain.kind()).isEqualTo(Failure.Kind.FORBIDDEN);
    assertThat(plain.getMessage()).isEqualTo("no");
    Failure other = Failure.from(new IllegalStateException("secret internals"), Failure.Kind.INTERNAL, "internal error");
    assertThat(other.kind()).isEqualTo(Failure.Kind.INTERNAL);
    assertThat(other.getMessage()).isEqualTo("internal error");
  }

  @Test
  void aFailureRepliedOnTheBusArrivesAsItsKind(Vertx vertx, VertxTestContext test) {
    Failure.register(vertx.eventBus());
    Failure.register(vertx.eventBus()); // a second time does nothing
    vertx.eventBus().consumer("f.moved", m -> Failure.reply(m, new Failure(Failure.Kind.SESSION_MOVED, "moved")));
    vertx.eventBus().consumer("f.refused", m -> Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "not signed")));
    vertx.eventBus().request("f.moved", "x").onComplete(test.failing(moved -> test.verify(() -> {
      assertThat(moved).isInstanceOf(Failure.class);
      assertThat(((Failure) moved).kind()).isEqualTo(Failure.Kind.SESSION_MOVED);
      assertThat(((Failure) moved).retryAfterSeconds()).isEqualTo(1L);
      vertx.eventBus().request("f.refused", "x").onComplete(test.failing(refused -> test.verify(() -> {
        // a refusal goes plain, for a sender that may not know the codec; read back as its kind
        assertThat(refused).isNotInstanceOf(Failure.class).isInstanceOf(ReplyException.class);
        assertThat(Failure.from(refused, Failure.Kind.INTERNAL, "x").kind()).isEqualTo(Failure.Kind.FORBIDDEN);
        test.completeNow();
      })));
    })));
  }
}
