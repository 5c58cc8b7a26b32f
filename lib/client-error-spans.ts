/**
 * A span processor that brings the OpenTelemetry HTTP rule for server spans back where another
 * instrumentation broke it: "for HTTP status codes in the 4xx range span status MUST be left unset in
 * case of SpanKind.SERVER" (https://opentelemetry.io/docs/specs/semconv/http/http-spans/, "Status") —
 * a 404 the app chose to answer is the client's problem, not a failure of the server.
 *
 * Why a processor: `@fastify/otel` sets the request span's status to ERROR in an `onError` hook for
 * every error, and Fastify runs `onError` hooks before the error handler, so by the time the plugin
 * knows the error becomes a 404 the status is ERROR. Through the API it cannot be undone: the status
 * codes form a total order, Ok > Error > Unset (the trace API specification, "Set Status"), so a later
 * UNSET never replaces an ERROR (the SDK's `setStatus` drops it). The SDK's `onEnding` hook (SDK 2.x) is
 * the one place where a span is complete — its final `http.response.status_code` is on it — and still
 * writable, before any exporter sees it.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'

/**
 * What the processor reads and writes of an ending span: the SDK's `Span` (`@opentelemetry/sdk-trace-base`,
 * `@opentelemetry/sdk-node`) has this shape; declared here so the package needs none of the SDK's types.
 */
export interface EndingSpan {
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
  status: { code: number, message?: string }
}

/**
 * A span processor (`onEnding`, OpenTelemetry JS SDK 2.x) that leaves a 4xx response's status unset on
 * the span of the request: a SERVER span whose final `http.response.status_code` is 400–499, or the
 * INTERNAL span fastify-flask-errors recorded a 4xx on (it carries `error.type`; `@fastify/otel` makes its
 * request span INTERNAL when an HTTP server instrumentation owns the SERVER span). A 5xx, a CLIENT span
 * (for which a 4xx *is* an error) and every other span are left as they are, and so are the span's
 * events and attributes: `error.type` still says what the 4xx was.
 *
 * Add it beside the exporting processor, in any order (every `onEnding` runs before any `onEnd`):
 *
 * @example
 * import { ClientErrorSpanProcessor } from 'fastify-flask-errors/otel'
 * const provider = new NodeTracerProvider({ spanProcessors: [new ClientErrorSpanProcessor(), new BatchSpanProcessor(exporter)] })
 */
export class ClientErrorSpanProcessor {
  /** Nothing to do when a span starts: its outcome is known only at its end. */
  onStart (): void {}

  /** Resets ERROR to UNSET on the request span of a 4xx response, while the span can still be written. */
  onEnding (span: EndingSpan): void {
    if (span.status.code !== SpanStatusCode.ERROR || !standsForClientError(span)) return
    // Assigned, not `setStatus`, which never lowers ERROR to UNSET: the SDK span's `status` field is
    // public and writable. Not OK, which the API would take: OK claims the operation was validated as
    // successful, more than the convention's "left unset" for a 4xx.
    span.status = { code: SpanStatusCode.UNSET }
  }

  /** The span is read-only by now: the reset happened in `onEnding`. */
  onEnd (): void {}

  /** Holds nothing: nothing to flush. */
  async forceFlush (): Promise<void> {}

  /** Holds nothing: nothing to release. */
  async shutdown (): Promise<void> {}
}

/** A 4xx answered on the span of a request (not of an outgoing call: a client span's 4xx is its error). */
function standsForClientError ({ kind, attributes }: EndingSpan): boolean {
  const status = attributes['http.response.status_code']
  if (typeof status !== 'number' || status < 400 || status > 499) return false
  if (kind === SpanKind.SERVER) return true
  return kind === SpanKind.INTERNAL && attributes['error.type'] !== undefined
}
