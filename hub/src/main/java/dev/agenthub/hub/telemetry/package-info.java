/**
 * Traces (OpenTelemetry) and the log format (text or JSON lines). See "Contract: traces and logs".
 */
package dev.agenthub.hub.telemetry;
