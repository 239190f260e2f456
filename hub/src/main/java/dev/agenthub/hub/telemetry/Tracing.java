package dev.agenthub.hub.telemetry;

import dev.agenthub.config.HubConfig;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.vertx.core.spi.VertxTracerFactory;
import io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A node's tracing, through Vert.x's own OpenTelemetry integration: the HTTP server continues the
 * client's W3C {@code traceparent} (or starts a trace), every event-bus hop carries it (across
 * nodes too), and the provider's HTTP request sends it on. Spans go to an OTLP/HTTP collector when
 * {@code telemetry.otlp-endpoint} is set; {@code telemetry.tracing: true} without one keeps the trace
 * ids for responses and logs only. A client's {@code traceparent} that asks for recording is always
 * recorded; of the traces the hub starts itself, {@code telemetry.sample-ratio} are (0.1 by default:
 * every turn still carries and passes on its trace id). Off, Vert.x runs without a tracer.
 */
public final class Tracing implements AutoCloseable {

  private static final Tracing OFF = new Tracing(null);

  private final OpenTelemetrySdk sdk;

  private Tracing(OpenTelemetrySdk sdk) {
    this.sdk = sdk;
  }

  public static Tracing create(HubConfig.Operations operations, String node) {
    if (!operations.tracingOn()) {
      return OFF;
    }
    Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
      AttributeKey.stringKey("service.name"), "agenthub", AttributeKey.stringKey("service.instance.id"), node)));
    SdkTracerProviderBuilder tracer = SdkTracerProvider.builder().setResource(resource)
      // a client's sampling decision is kept; of the traces the hub starts, sample-ratio are recorded
      .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(operations.sampleRatio())));
    String endpoint = operations.otlpEndpoint();
    if (!endpoint.isBlank()) {
      String url = endpoint.endsWith("/v1/traces") ? endpoint : endpoint.replaceAll("/+$", "") + "/v1/traces";
      tracer.addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder().setEndpoint(url)
        .setTimeout(Duration.ofSeconds(10)).build()).setScheduleDelay(Duration.ofSeconds(1)).build());
    }
    // not registered as the global instance: several nodes may share a JVM (tests, benches)
    OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(tracer.build())
      .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
    return new Tracing(sdk);
  }

  public boolean on() {
    return sdk != null;
  }

  /** The tracer factory for {@code Vertx.builder().withTracer(...)}, or null when tracing is off. */
  public VertxTracerFactory factory() {
    return sdk == null ? null : new OpenTelemetryTracingFactory(sdk);
  }

  /** The trace id of the span current on this thread's Vert.x context, or null. */
  public static String currentTraceId() {
    SpanContext span = Span.current().getSpanContext();
    return span.isValid() ? span.getTraceId() : null;
  }

  /** The W3C {@code traceparent} of the current span, or null. */
  public static String currentTraceparent() {
    SpanContext span = Span.current().getSpanContext();
    return span.isValid() ? "00-" + span.getTraceId() + "-" + span.getSpanId() + "-"
      + span.getTraceFlags().asHex() : null;
  }

  /** Sends the spans still buffered, then stops. */
  @Override
  public void close() {
    if (sdk != null) {
      sdk.getSdkTracerProvider().shutdown().join(10, TimeUnit.SECONDS);
    }
  }
}
