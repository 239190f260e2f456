package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The HTTP edge of the one failure type: every kind answered with its status, error object and headers. */
@ExtendWith(VertxExtension.class)
class HttpFailuresTest {

  @Test
  void everyKindIsAnsweredAsTheContractSays(Vertx vertx) throws Exception {
    Router router = Router.router(vertx);
    router.get("/fail/:kind").handler(ctx -> {
      throw new Failure(Failure.Kind.valueOf(ctx.pathParam("kind")), "it failed", "a_field", null);
    });
    router.get("/crash").handler(ctx -> {
      throw new IllegalStateException("internal detail that must not leave");
    });
    router.route().failureHandler(ctx -> HttpFailures.send(ctx, HttpFailures.of(ctx.failure())));
    HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
      .await(30, TimeUnit.SECONDS);
    HttpClient client = vertx.createHttpClient();
    for (Failure.Kind kind : Failure.Kind.values()) {
      Answer r = get(client, server.actualPort(), "/fail/" + kind.name());
      JsonObject error = new JsonObject(r.body()).getJsonObject("error");
      assertThat(r.response().statusCode()).as(kind.name()).isEqualTo(kind.status());
      assertThat(error.getString("type")).as(kind.name()).isEqualTo(kind.type());
      assertThat(error.getString("code")).as(kind.name()).isEqualTo(kind.code());
      assertThat(error.getString("param")).isEqualTo("a_field");
      assertThat(error.getString("message")).isEqualTo("it failed");
      boolean retries = kind == Failure.Kind.QUEUE_FULL || kind == Failure.Kind.RATE_LIMITED
        || kind == Failure.Kind.BUDGET_EXCEEDED || kind == Failure.Kind.SESSION_MOVED || kind == Failure.Kind.UNAVAILABLE;
      assertThat(r.response().getHeader("Retry-After") != null).as(kind.name() + " Retry-After").isEqualTo(retries);
      assertThat(r.response().getHeader("x-should-retry")).as(kind.name())
        .isEqualTo(kind == Failure.Kind.BUDGET_EXCEEDED ? "false" : null);
    }
    Answer crash = get(client, server.actualPort(), "/crash");
    assertThat(crash.response().statusCode()).isEqualTo(500);
    assertThat(crash.body()).doesNotContain("internal detail").contains("internal_error");
  }

  private record Answer(HttpClientResponse response, String body) {
  }

  private static Answer get(HttpClient client, int port, String path) throws Exception {
    return client.request(HttpMethod.GET, port, "127.0.0.1", path)
      .compose(req -> req.send().compose(r -> r.body().map(b -> new Answer(r, b.toString()))))
      .await(30, TimeUnit.SECONDS);
  }
}
