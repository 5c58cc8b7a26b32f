/**
 * The state of error handling: what one registered app gives the dispatcher (made at registration),
 * and where one request stands (made when its first error arrives). lib/dispatch.ts moves an attempt
 * along; lib/respond.ts reads it to write the plugin's own responses.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyInternals } from './internals.js'
import type { Negotiation } from './negotiate.js'
import type { ContextOptions } from './options.js'
import type { DefaultBodies } from './pages.js'
import type { HandlerEntry, Registry, Resolved } from './registry.js'
import type { Redaction } from './redact.js'
import type { Reporting } from './report.js'
import type { RoutingMiss } from './routing.js'
import type { SourceFiles } from './sources.js'
import type { Templates } from './templates.js'
import type { TraceRef, Tracing } from './trace.js'
import type { errorChannel } from './outcome.js'

/** What the dispatcher needs from the plugin, built once at registration. */
export interface Dispatcher {
  readonly registry: Registry<ContextOptions>
  readonly reporting: Reporting | null
  /** The error page templates of each context, found when the app got ready. */
  readonly templates: Templates
  /** The plugin's one window on Fastify's private state (lib/internals.ts). */
  readonly internals: FastifyInternals
  /** The app's redaction policy: how log lines (and the debug page) name the request. */
  readonly redaction: Redaction
  /** The app's source files the debug page may read, and those it has read. */
  readonly sources: SourceFiles
  /** The app's Accept decisions, cached per header value. */
  readonly negotiation: Negotiation
  /** The app's default bodies, with the parts that repeat cached per message. */
  readonly bodies: DefaultBodies
  /** OpenTelemetry, when `@opentelemetry/api` is installed and not switched off (lib/trace.ts). */
  readonly tracing: Tracing | null
  /** The `fastify-flask-errors:error` diagnostics channel (lib/outcome.ts). */
  readonly channel: ReturnType<typeof errorChannel>
}

/**
 * Where one request's error handling stands: which handlers ran, how many failed, what was first
 * thrown. Everything that can be derived from that is (the last resort, whether the request moved on),
 * so no two fields can disagree.
 */
export class Attempt {
  /** The value first thrown: the `cause` of a handler's failure. */
  original: unknown
  /**
   * What reporters get: the value thrown; once a handler failed, the 500 made of that failure (its
   * `originalError`) and of the error it was handling (its `cause`). Reporting follows the error.
   */
  reported: unknown
  /** Made when the first handler runs: the default response (most errors) needs none. */
  tried: Set<HandlerEntry> | undefined = undefined
  /** The handler whose response is being made, if any. */
  current: HandlerEntry | undefined = undefined
  /** The handler that called `reply.send` (directly or through `reply.view`), once one did. */
  sentBy: HandlerEntry | undefined = undefined
  /** How many handlers (or default responses) failed: each failure starts a new turn of the attempt. */
  failures = 0
  /** The request's span and trace id, when tracing is on and a span is active: found once, used by every response and report. */
  readonly trace: TraceRef | undefined
  /** The turn whose response was recorded on the span (lib/outcome.ts traceResponse), if any. */
  tracedTurn: number | undefined = undefined

  constructor (
    readonly dispatcher: Dispatcher,
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    /** The context that owns the request (its templates are the ones used). */
    readonly instance: FastifyInstance,
    readonly resolved: Resolved<ContextOptions>,
    error: unknown,
    /** The routing miss answered, if the request matched no route. */
    readonly miss: RoutingMiss | undefined
  ) {
    this.original = error
    this.reported = error
    this.trace = dispatcher.tracing?.find(request)
  }

  /** The trace id of the request's span, shown and logged next to the request id; undefined without a span. */
  get traceId (): string | undefined {
    return this.trace?.traceId
  }

  /**
   * Two failures so far: only our own built-in 500 may answer now (no handler, no template), and if
   * that fails too, raw bytes go out (lib/respond.ts).
   */
  get lastResort (): boolean {
    return this.failures >= 2
  }

  /** The turn now: taken when a response starts being made, to ask later whether it is still the one. */
  get turn (): number {
    return this.failures
  }

  /**
   * Whether the request moved on since `turn`: a failure started another response (the 500 handler's,
   * the built-in 500), so whatever was being made in `turn` (a handler's result, a template) is no longer
   * the response to send, nor the one to report.
   */
  movedOn (turn: number): boolean {
    return this.failures !== turn
  }

  /**
   * The original error as code of the app's sees it: a routing miss becomes the request's own
   * exception, made once, when a log line or a 500 handler's `cause` needs it. Any other value is the
   * one thrown.
   */
  ownOriginal (): unknown {
    const { miss } = this
    if (miss !== undefined && this.original === miss) this.original = miss.exception()
    return this.original
  }
}

/**
 * Where a reply's error handling stands. A handler that calls `reply.send(err)`, or a `reply.view`
 * that fails, sends Fastify back into the error handler: the attempt says it is a failure of a
 * handler, not a new error. A reply decorator (declared with `null` at registration, so every reply
 * has the same shape) rather than a WeakMap: a WeakMap entry per errored request made the garbage
 * collector trace an ephemeron table that grows with the error rate.
 */
export const kAttempt = Symbol('fastify-flask-errors.attempt')

/** A reply as the plugin decorates it (see kAttempt). */
export type WithAttempt = FastifyReply & { [kAttempt]: Attempt | null }
