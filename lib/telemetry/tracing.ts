/**
 * Spans for a message's path, through Deno's built-in OpenTelemetry (no
 * third-party code): with `OTEL_DENO=true` Deno exports spans over OTLP —
 * its own for every `Deno.serve` request, and ours, which become their
 * children. Without it, spans cost nothing.
 *
 * @module
 */

/** Attribute values a span can carry. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** Runs code inside spans. */
export interface Tracing {
  /** Whether spans are exported (`OTEL_DENO=true`). */
  readonly enabled: boolean;
  /** Runs `fn` inside a span named `name`, ended when `fn` settles; a throw marks it an error. */
  span<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T>;
}

// The part of Deno.telemetry's tracer this module uses.
interface Span {
  setStatus(status: { code: number; message?: string }): void;
  end(): void;
}
interface Tracer {
  startActiveSpan<T>(
    name: string,
    options: { attributes: SpanAttributes },
    fn: (span: Span) => T,
  ): T;
}

const ERROR_STATUS = 2;

/**
 * The tracing of this process: real spans when Deno's OpenTelemetry is on,
 * a pass-through otherwise.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTracing } from "./tracing.ts";
 * const tracing = createTracing("huayi-im");
 * assert.equal(await tracing.span("im.example", { "im.kind": "direct" }, () => Promise.resolve(7)), 7);
 * ```
 */
export function createTracing(name: string): Tracing {
  // Without OTEL_DENO the tracer throws "otel not initialized".
  if (!otelEnabled()) return { enabled: false, span: (_name, _attributes, fn) => fn() };
  const tracer = Deno.telemetry.tracerProvider.getTracer(name) as unknown as Tracer;
  return {
    enabled: true,
    span: (spanName, attributes, fn) =>
      tracer.startActiveSpan(spanName, { attributes }, async (span) => {
        try {
          return await fn();
        } catch (error) {
          span.setStatus({ code: ERROR_STATUS, message: String(error) });
          throw error;
        } finally {
          span.end();
        }
      }),
  };
}

function otelEnabled(): boolean {
  try {
    return Deno.env.get("OTEL_DENO") === "true";
  } catch {
    return false; // no permission to read it: the server was not started to trace
  }
}
