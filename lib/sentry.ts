/**
 * A ready reporter for Sentry (`@sentry/node`): each report becomes one Sentry event of the error the
 * app has to fix, with the request it failed on, masked as the app's redaction policy says. The
 * `fastify-flask-errors/sentry` subpath (lib/sentry-entry.ts) gives it to applications.
 *
 * The SDK is passed in (`sentryReporter(Sentry)`) instead of imported: the app's own copy of
 * `@sentry/node` is the one that holds its client, its scopes and its `beforeSend`, so a second copy
 * resolved from this package would report to nowhere; and this package needs no dependency on it.
 *
 * Sentry's own Fastify integration (on by default in `Sentry.init()`) captures a route's error from
 * Fastify's diagnostics channel `tracing:fastify.request.handler:error`, when it is thrown, before any
 * error handler ran: it cannot know that a handler of this plugin answers it with a 404, nor that a
 * handler failed and the failure is the bug. {@link shouldHandleError}, given to
 * `fastifyIntegration({ shouldHandleError })`, leaves the errors of an app that has this plugin to the
 * plugin, which reports what it sent (`reportWhen`, 5xx by default) once.
 */
import { emitWarning } from 'node:process'
import type { FastifyReply } from 'fastify'
import { kAttempt } from './attempt.js'
import { serializeError } from './describe.js'
import { FFE_BAD_SENTRY } from './errors.js'
import type { InternalServerError } from './exceptions.js'
import type { ErrorReport, Reporter } from './report.js'
import { reportedFailure } from './report-identity.js'
import type { RequestSummary } from './report-request.js'

// The Sentry reporter's own error lives with the others in lib/errors.ts; the entry exports it from here.
export { FFE_BAD_SENTRY }

/** The event fields the reporter sets (Sentry's `Event`, in part). */
export interface SentryEvent {
  /** Sentry's request interface: what the event shows as the request. */
  request?: {
    method?: string
    url?: string
    /** Sentry's `QueryParams`; the reporter writes the masked query as sent, a string. */
    query_string?: string | Record<string, string> | Array<[string, string]>
    headers?: Record<string, string>
  }
  /** Sentry's user interface; the reporter sets the client address in it. */
  user?: { ip_address?: string | null }
  /** Seconds since the epoch. */
  timestamp?: number
  /** The name the event is listed under (`GET /users/:id`). */
  transaction?: string
}

/** What the reporter uses of a Sentry scope (`Scope` of `@sentry/node`). */
export interface SentryScope {
  setLevel (level: 'error' | 'warning'): unknown
  setTags (tags: Record<string, string>): unknown
  setExtras (extras: Record<string, unknown>): unknown
  setContext (name: string, context: Record<string, unknown>): unknown
  addEventProcessor (processor: (event: SentryEvent) => SentryEvent): unknown
}

/** What the reporter uses of the Sentry client (`Client` of `@sentry/node`). */
export interface SentryClient {
  getDataCollectionOptions (): { userInfo: boolean }
  getIntegrationByName (name: string): unknown
}

/**
 * The part of the Sentry SDK the reporter calls: `import * as Sentry from '@sentry/node'` (11 and
 * later) is one, so is any SDK built on `@sentry/core` with the same functions.
 */
export interface SentrySdk {
  captureException (exception: unknown, hint?: { mechanism?: { type: string, handled: boolean } }): string
  withScope<T> (callback: (scope: SentryScope) => T): T
  withIsolationScope<T> (isolationScope: SentryScope | undefined, callback: (scope: SentryScope) => T): T
  Scope: new () => SentryScope
  getClient (): SentryClient | undefined
}

/** The SDK functions {@link sentryReporter} checks for, so that a wrong argument fails at startup. */
const NEEDED = ['captureException', 'withScope', 'withIsolationScope', 'Scope', 'getClient'] as const

/** The mechanism of the events: Sentry shows it on the event; `handled: false` as Sentry's own framework integrations say. */
const MECHANISM = { type: 'fastify-flask-errors', handled: false }

/**
 * A reporter that sends each report to Sentry as one event: the error to fix (for a handler that
 * failed, its failure, with the error it was handling in `extra.handledError`), the request (method,
 * URL, route as the transaction, headers) as the plugin masked it, the status, request id, trace id and
 * count as tags and the `report` context, the report's `context` as the `reportContext` context. A 5xx
 * is an `error`, anything else reported (through `reportWhen`) a `warning`.
 *
 * Call it after `Sentry.init()`, and give Sentry's Fastify integration {@link shouldHandleError}, or
 * the errors of the app are captured twice (a warning `FFE_SENTRY_DOUBLE_CAPTURE` says so).
 *
 * @example
 * import * as Sentry from '@sentry/node'
 * import { sentryReporter, shouldHandleError } from 'fastify-flask-errors/sentry'
 * Sentry.init({ dsn: process.env.SENTRY_DSN, integrations: [Sentry.fastifyIntegration({ shouldHandleError })] })
 * await app.register(flaskErrors, { report: sentryReporter(Sentry) })
 *
 * @throws FFE_BAD_SENTRY when `sentry` is not the Sentry SDK module.
 */
export function sentryReporter (sentry: SentrySdk): Reporter {
  const missing = typeof sentry === 'object' && sentry !== null
    ? NEEDED.find((name) => typeof (sentry as unknown as Record<string, unknown>)[name] !== 'function')
    : NEEDED[0]
  if (missing !== undefined) {
    throw new FFE_BAD_SENTRY(`${describeArgument(sentry)} (it has no ${missing}())`)
  }
  warnOfDoubleCapture(sentry)
  return function sentryReporter (report: ErrorReport): void {
    // A summary of repeats runs later, in whatever async context the window's timer has: a fresh
    // isolation scope keeps another request's user, tags and breadcrumbs off its event. A first report
    // runs in the failing request's own context, whose scope (Sentry.setUser in a hook) belongs to it.
    if (report.count > 1) sentry.withIsolationScope(new sentry.Scope(), () => { capture(sentry, report) })
    else capture(sentry, report)
  }
}

/**
 * The `shouldHandleError` option of Sentry's `fastifyIntegration`: `false` for a request of an app
 * that has this plugin, whose error handler decides the status and whose `report` option reports
 * it (with {@link sentryReporter}); for a request of another Fastify app in the process, Sentry's own
 * default rule (a status of 500 and above, or of 299 and below).
 */
export function shouldHandleError (_error: unknown, _request: unknown, reply: Pick<FastifyReply, 'statusCode'>): boolean {
  // The plugin decorates the replies of the app it is registered in (fastify.decorateReply); that
  // decoration, on the reply's prototype, is what says the plugin's error handler has this request.
  // (The parameters are loose because Sentry types them with its own cut-down Fastify types.)
  if (kAttempt in reply) return false
  return reply.statusCode >= 500 || reply.statusCode <= 299
}

/** One report as one Sentry event, in a scope of its own so nothing it sets stays for later events. */
function capture (sentry: SentrySdk, report: ErrorReport): void {
  const { failure, handled } = failureOf(report.error)
  const { request, status, count, traceId, context } = report
  const userInfo = sentry.getClient()?.getDataCollectionOptions().userInfo === true
  sentry.withScope((scope) => {
    scope.setLevel(status >= 500 ? 'error' : 'warning')
    const tags: Record<string, string> = { 'http.status_code': String(status), request_id: request.requestId }
    if (traceId !== undefined) tags.trace_id = traceId
    scope.setTags(tags)
    const extras: Record<string, unknown> = { count }
    if (handled !== undefined) extras.handledError = serializeError(handled)
    scope.setExtras(extras)
    // Sentry's "response" context is where its UI shows a status; "report" holds the plugin's fields.
    scope.setContext('response', { status_code: status })
    const time = report.time.toISOString()
    scope.setContext('report', { status, count, requestId: request.requestId, route: request.route, traceId, time })
    if (Object.keys(context).length > 0) scope.setContext('reportContext', { ...context })
    // A scope's event processors run after the integrations' (requestData among them), so the request
    // the event shows is the plugin's masked summary and nothing of the raw one.
    scope.addEventProcessor((event) => {
      event.request = sentryRequest(request)
      // Fastify's `request.ip` (which honours `trustProxy`), not an address guessed from
      // X-Forwarded-For, under the switch Sentry's own request data obeys (`dataCollection.userInfo`).
      if (userInfo) event.user = { ...event.user, ip_address: request.ip }
      // When it happened, not when the reporter ran (a summary goes out when its window ends).
      event.timestamp = report.time.getTime() / 1000
      if (event.transaction === undefined && request.route !== undefined) event.transaction = `${request.method} ${request.route}`
      return event
    })
    sentry.captureException(failure, { mechanism: MECHANISM })
  })
}

/**
 * The error a report is about, as lib/report-identity.ts tells it. A handler that failed is reported
 * as the plugin's 500 whose `originalError` is the failure and whose `cause` is the error it was
 * handling: the failure is the bug (its stack points at the handler), the handled error says what it
 * was doing.
 */
function failureOf (error: unknown): { failure: unknown, handled: unknown } {
  const failure = reportedFailure(error)
  return { failure, handled: failure === error ? undefined : (error as InternalServerError).cause }
}

/**
 * Sentry's request interface from the plugin's summary: path and query apart, as Sentry keeps them,
 * headers as single strings (a list joined with ", " as RFC 9110 §5.3 combines field lines).
 */
function sentryRequest (request: RequestSummary): NonNullable<SentryEvent['request']> {
  const query = request.url.indexOf('?')
  const headers: Record<string, string> = {}
  // (Node gives a list only for a repeated Set-Cookie; a value is never undefined in a real request.)
  for (const [name, value] of Object.entries(request.headers)) headers[name] = [value].flat().join(', ')
  const out: NonNullable<SentryEvent['request']> = {
    method: request.method,
    url: query === -1 ? request.url : request.url.slice(0, query),
    headers
  }
  if (query !== -1) out.query_string = request.url.slice(query + 1)
  return out
}

/**
 * Warns once, when the reporter is made, if Sentry's Fastify integration is installed with another
 * predicate than {@link shouldHandleError}: it would capture the app's errors too, when they are
 * thrown, so a 5xx would be reported twice and an error a handler answers with a 4xx once by Sentry.
 * A warning, not an error: the reports still work, and a deliberate setup can silence it with
 * `--disable-warning=FFE_SENTRY_DOUBLE_CAPTURE`.
 */
function warnOfDoubleCapture (sentry: SentrySdk): void {
  const integration = sentry.getClient()?.getIntegrationByName('Fastify') as { getShouldHandleError?: () => unknown } | undefined
  if (typeof integration?.getShouldHandleError !== 'function') return
  if (integration.getShouldHandleError() === shouldHandleError) return
  emitWarning('Sentry\'s Fastify integration captures route errors itself, so they would reach Sentry twice (and errors ' +
    'a handler answers with a 4xx once): init Sentry with integrations: [Sentry.fastifyIntegration({ shouldHandleError })], ' +
    'shouldHandleError from fastify-flask-errors/sentry', { code: 'FFE_SENTRY_DOUBLE_CAPTURE' })
}

/** What was passed instead of the SDK, for the error message. */
function describeArgument (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return 'an object that is not the Sentry SDK'
}
