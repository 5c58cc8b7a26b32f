/**
 * OpenTelemetry, through the optional peer `@opentelemetry/api`. The plugin is where an error is
 * classified — the app's bug (a 5xx it answers) or the app's answer (a 404 it chose) — so it tells the
 * request's span, following the HTTP semantic conventions for server spans
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/, "Status"): a 5xx sets the status
 * ERROR with one exception event of the original error, a 4xx leaves the status unset, and every error
 * response sets `error.type` and `http.response.status_code`.
 *
 * The API is loaded once, at registration, when it is installed (and `openTelemetry` is not false):
 * without it nothing here is loaded, and nothing of it ever runs on a successful request.
 */
import type { FastifyRequest } from 'fastify'
import { describe } from './describe.js'
import { HTTPException, MethodNotAllowed, NotFound } from './exceptions.js'
import { reportedFailure } from './report-identity.js'
import { RoutingMiss } from './routing.js'

/** The part of an OpenTelemetry span the plugin uses (the API's `Span`, structurally: no type import). */
export interface SpanLike {
  spanContext (): { traceId: string, spanId: string, traceFlags: number }
  isRecording (): boolean
  setStatus (status: { code: number, message?: string }): unknown
  setAttributes (attributes: Record<string, string | number>): unknown
  recordException (exception: { name: string, message: string, stack?: string }): unknown
}

/** The part of `@opentelemetry/api` the plugin uses. */
interface Api {
  trace: { getActiveSpan (): SpanLike | undefined }
  isSpanContextValid (context: { traceId: string, spanId: string, traceFlags: number }): boolean
  SpanStatusCode: { ERROR: number }
}

/** The request's span and the id of its trace, found once per errored request. */
export interface TraceRef {
  readonly span: SpanLike
  /** The 32-hex-digit trace id: what a user quotes so that an operator finds the trace. */
  readonly traceId: string
}

/** An app's tracing: present only when `@opentelemetry/api` is installed and not switched off. */
export interface Tracing {
  /** The request's span, or undefined when no valid span is active (no SDK, an unsampled root…). */
  find (request: FastifyRequest): TraceRef | undefined
  /** Records one error response on the span: `reported` is what reporters get (lib/attempt.ts). */
  record (ref: TraceRef, status: number, reported: unknown): void
}

/**
 * Loads the API when it can be: `null` when switched off or not installed. Another failure to load it
 * (a broken install) is not a reason to refuse to start: it is logged and tracing stays off.
 */
export async function loadTracing (enabled: boolean, warn: (message: string) => void): Promise<Tracing | null> {
  if (!enabled) return null
  let api: Api
  try {
    api = await import('@opentelemetry/api') as unknown as Api
  } catch (failure) {
    const code = (failure as { code?: unknown } | null)?.code
    // Not installed: the optional peer is simply absent, which is the normal case for many apps.
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return null
    warn(`fastify-flask-errors: @opentelemetry/api is installed but could not be loaded (${String(failure)}); ` +
      'errors are not recorded on traces')
    return null
  }
  return createTracing(api)
}

function createTracing (api: Api): Tracing {
  const ERROR = api.SpanStatusCode.ERROR
  return {
    find (request) {
      const span = requestSpan(request) ?? api.trace.getActiveSpan()
      if (span === undefined) return undefined
      const context = span.spanContext()
      return api.isSpanContextValid(context) ? { span, traceId: context.traceId } : undefined
    },
    record ({ span }, status, reported) {
      if (!span.isRecording()) return
      const failure = reportedFailure(reported)
      const type = errorType(failure, status)
      span.setAttributes({ 'error.type': type, 'http.response.status_code': status })
      if (status < 500) return
      const exception = exceptionOf(failure)
      span.setStatus({ code: ERROR, message: shortDescription(exception) })
      span.recordException(exception)
    }
  }
}

/**
 * The request span of `@fastify/otel` (its `request.opentelemetry()` decoration) when it is there: the
 * span the request is about. The active span is not always it — inside @fastify/otel's wrapped
 * not-found handler it is that handler's own span.
 */
function requestSpan (request: FastifyRequest): SpanLike | undefined {
  const decoration = (request as { opentelemetry?: unknown }).opentelemetry
  if (typeof decoration !== 'function') return undefined
  const span = (decoration.call(request) as { span?: SpanLike | null } | undefined)?.span
  return span ?? undefined
}

/**
 * `error.type` (semantic conventions: "the status code number …, an exception type … or a
 * component-specific error identifier", low cardinality): our classes by their name (`NotFound`), a
 * coded error by its code (`FST_ERR_VALIDATION`), another named class by its name, else the status.
 */
function errorType (error: unknown, status: number): string {
  try {
    if (error instanceof HTTPException) return error.constructor.name
    // A routing miss nobody needed as an exception (no handler, template or reporter): the class it stands for.
    if (error instanceof RoutingMiss) return (error.status === 405 ? MethodNotAllowed : NotFound).name
    const code = (error as { code?: unknown } | null)?.code
    if (typeof code === 'string' && code !== '') return code
    const name = error instanceof Error ? error.constructor.name : ''
    return name !== '' && name !== 'Error' ? name : String(status)
  } catch {
    // A Proxy whose traps throw, a throwing getter: the status still classifies the response.
    return String(status)
  }
}

/**
 * What the exception event shows. The SDK takes `exception.type` from `code` before `name`, and our
 * classes' `code` is the numeric status: so the event gets a copy whose `name` is the class name.
 */
function exceptionOf (error: unknown): { name: string, message: string, stack?: string } {
  try {
    if (error instanceof Error) {
      const stack = typeof error.stack === 'string' ? error.stack : undefined
      return { name: error.constructor.name || error.name, message: String(error.message), stack }
    }
  } catch {
    // A getter that throws: the event says what kind of value it was instead.
  }
  return { name: typeof error, message: printable(error) }
}

/**
 * The event's message for a value that is no Error. Not describe.ts's `safeString`, which lets a
 * revoked Proxy's throw through for its callers to name: recording on a span must never throw.
 */
function printable (value: unknown): string {
  try {
    return String(value)
  } catch {
    // An object whose toString throws, or with no primitive form (Object.create(null)), or a revoked
    // Proxy, on which even Object.prototype.toString throws: described by its kind, never failing.
    return describe(value)
  }
}

/** The status description: the class and the message's first line, bounded (it is a summary, not the event). */
function shortDescription ({ name, message }: { name: string, message: string }): string {
  const end = message.indexOf('\n')
  const line = end === -1 ? message : message.slice(0, end)
  const text = line === '' ? name : `${name}: ${line}`
  return text.length > 200 ? `${text.slice(0, 199)}…` : text
}
