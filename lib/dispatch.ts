/**
 * One error, from thrown value to sent response (DESIGN §4).
 *
 * The path is synchronous whenever the handler is, so a plain `abort(404)` costs no promise. Every
 * branch ends in exactly one response: a handler's, the 500 handler's, the built-in 500, or — when
 * even sending fails — a raw 500 written past Fastify's hooks. Nothing is thrown out of here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HTTPException, InternalServerError } from './exceptions.js'
import { appendVary, applyHeaders, dropBodyHeaders, foreignFilter } from './headers.js'
import { describe, isError, logError, logFailure } from './log.js'
import { choose } from './negotiate.js'
import { DEBUG_PAGE_HEADERS, debugJson, debugPage, debugReport } from './debug.js'
import type { SourceFiles } from './debug.js'
import type { ContextOptions } from './options.js'
import { PAGE_HEADERS, errorView, genericText, htmlPage, jsonBody, reasonPhrase } from './pages.js'
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js'
import { findHandler } from './registry.js'
import { UNKNOWN_URL, WRONG_METHOD, allowedMethods, routingException, standIn } from './routing.js'
import type { MethodIndex } from './routing.js'
import type { HandlerEntry, Registry, Resolved } from './registry.js'
import type { Reporting } from './report.js'
import type { Redaction } from './redact.js'
import type { FastifyInternals } from './internals.js'
import { foreignHeaders, isPlainObject, readThrown } from './thrown.js'
import type { ThrownFacts } from './thrown.js'
import { isPreview, renderTemplate, templateContext } from './templates.js'
import { HTML_TYPE as HTML, JSON_TYPE, interpret } from './interpret.js'
import type { Interpreted } from './interpret.js'
import type { Templates } from './templates.js'
import type { ErrorView } from './pages.js'

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
}

/** Where one request stands: which handlers ran, how many failed, what was first thrown. */
interface Attempt {
  readonly dispatcher: Dispatcher
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** The context that owns the request (its templates are the ones used). */
  readonly instance: FastifyInstance
  readonly resolved: Resolved<ContextOptions>
  /** The value first thrown: the `cause` of a handler's failure. */
  original: unknown
  /**
   * What reporters get: the value thrown; once a handler failed, the 500 made of that failure (its
   * `originalError`) and of the error it was handling (its `cause`). Reporting follows the error.
   */
  reported: unknown
  /** For a routing miss, the methods the path is served under (none: a 404); else undefined. */
  readonly allowed: readonly string[] | undefined
  /** Made when the first handler runs: the default response (most errors) needs none. */
  tried: Set<HandlerEntry> | undefined
  /** The handler whose response is being made, if any. */
  current: HandlerEntry | undefined
  /** The handler that called `reply.send` (directly or through `reply.view`), once one did. */
  sentBy: HandlerEntry | undefined
  failures: number
  /** Set once our own last-resort page is being sent: if that fails too, we write raw bytes. */
  lastResort: boolean
}

/**
 * Where a reply's error handling stands. A handler that calls `reply.send(err)`, or a `reply.view`
 * that fails, sends Fastify back into the error handler: the attempt says it is a failure of a
 * handler, not a new error. A reply decorator (declared with `null` at registration, so every reply
 * has the same shape) rather than a WeakMap: a WeakMap entry per errored request made the garbage
 * collector trace an ephemeron table that grows with the error rate.
 */
export const kAttempt = Symbol('fastify-flask-errors.attempt')

type WithAttempt = FastifyReply & { [kAttempt]: Attempt | null }

/** What `readThrown` says of the shared routing errors: the same on every request, so read once. */
const UNKNOWN_URL_FACTS = readThrown(UNKNOWN_URL)
const WRONG_METHOD_FACTS = readThrown(WRONG_METHOD)

/**
 * The attempt's original error as the request's own: the shared routing 404/405 is only read by the
 * default response, so code of the app's (a 500 handler's `cause`) and log lines get an exception of
 * their own, made once. Any other value is already the request's own.
 */
function ownOriginal (attempt: Attempt): unknown {
  if (attempt.allowed !== undefined && (attempt.original === UNKNOWN_URL || attempt.original === WRONG_METHOD)) {
    attempt.original = routingException(attempt.allowed)
  }
  return attempt.original
}

/**
 * Answers `thrown` for this request. `instance` is the context that owns it: the route's, or for a
 * routing 404/405 the prefixed context that claimed the URL.
 */
export function dispatch (dispatcher: Dispatcher, instance: FastifyInstance, thrown: unknown, request: FastifyRequest, reply: FastifyReply): void {
  try {
    answer(dispatcher, instance, thrown, request, reply, undefined)
  } catch (bug) {
    emergency(dispatcher.redaction, request, reply, bug)
  }
}

/**
 * Answers a request no route matched (DESIGN §7): 405 with `Allow` when its path is served under
 * other methods, else 404. `instance` is the context that owns the URL.
 */
export function dispatchRoutingMiss (dispatcher: Dispatcher, instance: FastifyInstance, methods: MethodIndex, request: FastifyRequest, reply: FastifyReply): void {
  try {
    const allowed = allowedMethods(instance, methods, request.method, request.url)
    answer(dispatcher, instance, standIn(allowed), request, reply, allowed)
  } catch (bug) {
    emergency(dispatcher.redaction, request, reply, bug)
  }
}

function answer (dispatcher: Dispatcher, instance: FastifyInstance, thrown: unknown, request: FastifyRequest, reply: FastifyReply, allowed: readonly string[] | undefined): void {
  const routing = allowed !== undefined
  // Called as Fastify's error handler (not its not-found handler): a second error on this reply must
  // come back here, without a second round of onError hooks.
  if (!routing) dispatcher.internals.keepErrorHandler(reply)
  const previous = (reply as WithAttempt)[kAttempt]
  if (previous) {
    const who = previous.current === undefined ? 'the default error response' : `error handler ${previous.current.label}`
    fail(previous, thrown, readThrown(thrown).code === 'FST_ERR_HANDLER_TIMEOUT'
      ? `${who} was still running when Fastify's handlerTimeout expired`
      : `${who} failed while being sent (reply.send(error), a failed reply.view, or an onSend hook)`)
    return
  }
  if (reply.raw.headersSent) {
    endAfterHeaders(dispatcher.redaction, request, reply, thrown)
    return
  }
  // A routing miss had no route to set headers of its own.
  if (!routing) dropBodyHeaders(reply)
  const resolved = dispatcher.registry.resolve(instance)
  let error = thrown
  let facts = !routing ? withReplyStatus(readThrown(thrown), thrown, reply.statusCode) : thrown === UNKNOWN_URL ? UNKNOWN_URL_FACTS : WRONG_METHOD_FACTS
  let entry = findHandler(resolved.chain, facts)
  // A handler, a template or a reporter will see the error: never a shared routing error.
  if (routing && (entry !== undefined || dispatcher.reporting !== null || dispatcher.templates.find(instance, facts.status as number) !== undefined)) {
    error = routingException(allowed)
  }
  const attempt: Attempt = { dispatcher, request, reply, instance, resolved, original: error, reported: error, allowed, tried: undefined, current: undefined, sentBy: undefined, failures: 0, lastResort: false }
  ;(reply as WithAttempt)[kAttempt] = attempt

  if (entry === undefined && facts.status === undefined) {
    // Flask's handle_exception: an unhandled value without a status becomes a 500 that keeps it.
    error = new InternalServerError(undefined, { originalError: thrown })
    facts = readThrown(error)
    entry = findHandler(resolved.chain, facts)
  }
  const status = facts.status ?? 500
  const options = resolved.options
  logError(request, thrown, status, routing, { logLevel: options.logLevel, notFoundLogLevel: options.notFoundLogLevel ?? options.logLevel }, dispatcher.redaction)
  if (entry === undefined || (options.debug && status >= 500)) {
    sendDefault(attempt, error, facts, status)
    return
  }
  run(attempt, entry, error, facts, status)
}

/**
 * A value without a status of its own, thrown on a reply whose status another plugin already set to an
 * error (`@fastify/auth`'s `reply.code(401)` then a plain `Error`, `@fastify/under-pressure`'s 503),
 * answers that status, as Fastify's own error handler does (lib/error-status.js): it is handled, logged
 * and reported as that status, and for a 4xx its message is shown like any 4xx message.
 */
function withReplyStatus (facts: ThrownFacts, thrown: unknown, replyStatus: number): ThrownFacts {
  if (facts.status !== undefined || replyStatus < 400 || replyStatus > 599) return facts
  return { ...facts, status: replyStatus, publicMessage: replyStatus < 500 ? shownMessage(thrown) : undefined }
}

/** An error's message when it is a string that can be read; else undefined (the generic text is shown). */
function shownMessage (value: unknown): string | undefined {
  try {
    const message = isError(value) ? value.message as unknown : undefined
    return typeof message === 'string' ? message : undefined
  } catch {
    // A throwing message getter: the status's generic text is shown instead.
    return undefined
  }
}

/** Runs one handler with the reply prepared for `error`, then interprets what it did. */
function run (attempt: Attempt, entry: HandlerEntry, error: unknown, facts: ThrownFacts, status: number): void {
  const { request, reply } = attempt
  attempt.tried ??= new Set()
  attempt.tried.add(entry)
  attempt.current = entry
  watchSend(reply)
  // Fastify starts an error handler at 200; the error's status is the default.
  prepare(attempt, error, facts, status)
  let result: unknown
  try {
    result = entry.handler.call(entry.instance, error, request, reply)
  } catch (failure) {
    fail(attempt, failure, `error handler ${entry.label} threw`)
    return
  }
  let thenable: boolean
  try {
    thenable = isThenable(result)
    if (thenable) awaitResult(attempt, entry, result as PromiseLike<unknown>, error, facts)
  } catch (failure) {
    // A `then` getter that throws, a revoked Proxy, a `then` that throws when called: the result cannot
    // be read, which is a failure of the handler like any other (the 500 handler answers).
    fail(attempt, failure, `error handler ${entry.label} returned a value that cannot be read`)
    return
  }
  if (!thenable) finish(attempt, entry, result, error, facts)
}

/**
 * Notes when `entry` calls `reply.send` (itself, or through `reply.view`), so that a handler that sent
 * its own response is never mistaken for one that returned nothing. An own property of this reply
 * only, made on the error path; Fastify's `send` does the rest.
 */
function watchSend (reply: FastifyReply): void {
  (reply as FastifyReply & { send: typeof noteSend }).send = noteSend
}

/** `reply.send` of a reply whose error handler is running: notes who answered, then Fastify's send. */
function noteSend (this: WithAttempt, payload?: unknown): FastifyReply {
  const attempt = this[kAttempt] as Attempt
  attempt.sentBy = attempt.current
  return (Object.getPrototypeOf(this) as FastifyReply).send.call(this, payload)
}

/**
 * The reply as every error response starts: the status, the headers the error carries, and no MIME
 * sniffing (RFC 7034's companion `X-Content-Type-Options`: an error body is never to be read as
 * script or HTML other than declared). A handler may still change any of them.
 */
function prepare (attempt: Attempt, error: unknown, facts: ThrownFacts, status: number, keepSet = false): void {
  attempt.reply.code(status).header('x-content-type-options', 'nosniff')
  carryErrorHeaders(attempt, error, facts, status, keepSet)
}

/**
 * An async handler's result, bounded by `errorHandlerTimeout`: a promise that never settles would
 * leave the request hanging (DESIGN §4.4, "nothing hangs"), so at the deadline it counts as a
 * failure and the 500 handler (or the built-in 500) answers. A handler that settles after the
 * request moved on (cut off, or it failed through `reply.send(err)` and the 500 handler runs) is
 * ignored: the response is no longer its to make. A late rejection is still logged.
 */
function awaitResult (attempt: Attempt, entry: HandlerEntry, result: PromiseLike<unknown>, error: unknown, facts: ThrownFacts): void {
  const { request, reply } = attempt
  const timeout = attempt.resolved.options.errorHandlerTimeout
  const timer = setTimeout(() => {
    if (attempt.current === entry && !reply.sent) {
      guard(attempt, () => { fail(attempt, new Error(`error handler ${entry.label} did not settle within ${timeout} ms`), `error handler ${entry.label} timed out (errorHandlerTimeout)`) })
    }
  }, timeout)
  // Once the response is out (the handler sent it, or the 500 answered after it failed), the deadline
  // guards nothing: it must not keep the request's objects, or a closing process, alive until it fires.
  reply.raw.once('close', () => { clearTimeout(timer) })
  const current = (): boolean => {
    clearTimeout(timer)
    return attempt.current === entry
  }
  result.then(
    (value) => { if (current()) guard(attempt, () => { finish(attempt, entry, value, error, facts) }) },
    (failure: unknown) => {
      if (current()) guard(attempt, () => { fail(attempt, failure, `error handler ${entry.label} rejected`) })
      else guard(attempt, () => { logFailure(request, failure, attempt.original, `error handler ${entry.label} rejected after the request had moved on; its rejection is ignored`, attempt.dispatcher.redaction) })
    }
  )
}

/** Runs a step that happens outside Fastify's call (a promise callback, a timer) with the same safety net. */
function guard (attempt: Attempt, step: () => void): void {
  try {
    step()
  } catch (bug) {
    emergency(attempt.dispatcher.redaction, attempt.request, attempt.reply, bug)
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * The headers the error carries (`Allow`, `Retry-After`, …), set before the handler may override them:
 * all of ours (validated), and of a foreign error's only those that belong to the status answered.
 */
function carryErrorHeaders (attempt: Attempt, error: unknown, facts: ThrownFacts, status: number, keepSet: boolean): void {
  const { reply } = attempt
  if (error === WRONG_METHOD) {
    // The shared 405 carries no Allow of its own: the request's methods are Fastify's method names.
    reply.header('allow', (attempt.allowed as readonly string[]).join(', '))
    return
  }
  const ours = error instanceof HTTPException
  const headers = ours ? ownHeaders(error) : facts.status === undefined ? undefined : foreignHeaders(error)
  if (headers === undefined) return
  // After a handler ran (pass-through), a header it set wins over the error's, as for any other result.
  const refused = applyHeaders(reply, headers, (names) => {
    const foreign = ours ? undefined : foreignFilter(names, status)
    return (name) => (!keepSet || !reply.hasHeader(name)) && (foreign === undefined || foreign(name))
  })
  if (refused.length > 0) {
    attempt.request.log.warn({ headers: refused }, 'dropped error headers with invalid names or values')
  }
}

/**
 * Our exception's `headers`, read safely: a getter that throws (a subclass's) is dropped with a
 * warning in the log, like an invalid header, and the response still goes out.
 */
function ownHeaders (error: HTTPException): Record<string, unknown> | undefined {
  try {
    const headers = error.headers as unknown
    return isPlainObject(headers) ? headers : undefined
  } catch {
    // The getter threw: the error carries no usable headers.
    return undefined
  }
}

/** A handler's return value turned into a response (Flask's `make_response`). */
function finish (attempt: Attempt, entry: HandlerEntry, result: unknown, error: unknown, facts: ThrownFacts): void {
  const { reply } = attempt
  // It failed while it ran (its reply.send(err) brought the error back here): the 500 answers now.
  if (attempt.current !== entry) return
  // It sent the reply itself (reply.send), or started to (reply.view returns the reply and renders
  // asynchronously; if rendering fails, Fastify brings that error back to `dispatch`). `sent` alone
  // cannot tell: behind an async onSend hook (@fastify/compress) or with a stream, the response is
  // still on its way when the handler returns.
  if (attempt.sentBy === entry || reply.sent || reply.raw.headersSent || result === reply) {
    reportWhenSent(attempt)
    return
  }
  // Flask's pass-through: returning an error with a status renders it as the default response — the
  // error the handler was given (with the status it is answered by), or any other error with a status.
  const passed = result === error ? facts : isError(result) ? readThrown(result) : undefined
  if (passed?.status !== undefined) {
    sendDefault(attempt, result, passed, passed.status, true)
    return
  }
  let response: Interpreted | string
  try {
    response = interpret(result, reply.statusCode)
  } catch (failure) {
    // A revoked Proxy, an array or object whose getters throw: a result that cannot be read is a
    // failure of the handler like any other, answered by the 500 handler, with the hooks run.
    fail(attempt, failure, `error handler ${entry.label} returned a value that cannot be read`)
    return
  }
  if (typeof response === 'string') {
    fail(attempt, new TypeError(`error handler ${entry.label} ${response}`), `error handler ${entry.label} gave no usable response`)
    return
  }
  if (response.headers !== undefined) {
    const refused = applyHeaders(reply, response.headers)
    if (refused.length > 0) attempt.request.log.warn({ headers: refused }, `error handler ${entry.label} returned invalid headers; they were dropped`)
  }
  if (response.type !== undefined && !reply.hasHeader('content-type')) reply.header('content-type', response.type)
  deliver(attempt, response.status, response.body)
}

/**
 * A handler failed (DESIGN §4.4): the failure becomes a 500 whose cause is the first error, and the
 * 500 handler runs unless it already ran; a second failure gets the built-in 500.
 */
function fail (attempt: Attempt, failure: unknown, what: string): void {
  const { request, reply } = attempt
  const original = ownOriginal(attempt)
  logFailure(request, failure, original, what, attempt.dispatcher.redaction)
  if (reply.raw.headersSent) {
    endAfterHeaders(attempt.dispatcher.redaction, request, reply, failure)
    return
  }
  if (attempt.lastResort) {
    writeRaw500(reply)
    return
  }
  attempt.failures++
  // The 500 handler may read the cause.
  const error = new InternalServerError(undefined, { originalError: failure, cause: original })
  // The first failure is the bug to report; a second one (the 500 handler's) is logged above.
  if (attempt.failures === 1) attempt.reported = error
  const facts = readThrown(error)
  const entry = attempt.failures > 1 || attempt.resolved.options.debug ? undefined : findHandler(attempt.resolved.chain, facts, attempt.tried)
  if (entry === undefined) {
    attempt.lastResort = attempt.failures > 1
    sendDefault(attempt, error, facts, 500)
    return
  }
  run(attempt, entry, error, facts, 500)
}

/** The default response for `error` (DESIGN §5): JSON or the built-in page, by negotiation. */
function sendDefault (attempt: Attempt, error: unknown, facts: ThrownFacts, status: number, keepSet = false): void {
  const { request, reply, resolved } = attempt
  attempt.current = undefined
  prepare(attempt, error, facts, status, keepSet)
  const policy = resolved.options.format
  if (policy === 'negotiate') appendVary(reply, 'Accept')
  const view = errorView(status, facts, error, request.id, request.url)
  const representation = choose(request.headers.accept, policy)
  if (resolved.options.debug && status >= 500) {
    sendDebug(attempt, error, view, representation === 'html')
  } else if (representation === 'html') {
    sendHtml(attempt, error, view)
  } else if (resolved.options.problemDetails) {
    reply.header('content-type', PROBLEM_CONTENT_TYPE)
    deliver(attempt, status, problemBody(view, error, request.log))
  } else {
    reply.header('content-type', JSON_TYPE)
    deliver(attempt, status, jsonBody(view))
  }
}

/**
 * The HTML default: the context's template for the status when it has one (rendered asynchronously;
 * the built-in page stays synchronous), else the built-in page. A template that fails — missing,
 * throwing, too slow — is logged with the error being answered, and the built-in page goes out.
 * Our last-resort 500 never tries a template.
 */
function sendHtml (attempt: Attempt, error: unknown, view: ErrorView): void {
  const { request, reply } = attempt
  const page = attempt.lastResort ? undefined : attempt.dispatcher.templates.find(attempt.instance, view.status)
  if (page === undefined) {
    sendBuiltInPage(attempt, view)
    return
  }
  // While the template renders, the request may move on (Fastify's handlerTimeout fails it, and the
  // 500 answers): a render that finishes after that must not send a second response.
  const failures = attempt.failures
  const movedOn = (): boolean => attempt.failures !== failures || reply.sent
  renderTemplate(reply, page, templateContext(error, view, attempt.resolved.options.debug), (html, failure) => {
    guard(attempt, () => {
      if (html !== undefined) {
        if (movedOn()) {
          request.log.warn(`${attempt.dispatcher.redaction.line(request)}: error page template ${page} finished after the request had moved on; it was not sent`)
          return
        }
        reply.header('content-type', HTML).header('x-content-type-options', 'nosniff')
        deliver(attempt, view.status, html)
      } else if (movedOn()) {
        logFailure(request, failure, attempt.original, `error page template ${page} failed after the request had moved on`, attempt.dispatcher.redaction)
      } else {
        logFailure(request, failure, attempt.original, `error page template ${page} failed; the built-in page was sent instead`, attempt.dispatcher.redaction)
        sendBuiltInPage(attempt, view)
      }
    })
  })
}

function sendBuiltInPage (attempt: Attempt, view: ErrorView): void {
  attempt.reply.headers(PAGE_HEADERS).header('content-type', HTML)
  deliver(attempt, view.status, htmlPage(view))
}

/** Debug mode, 5xx (DESIGN §6): the error, its causes, the stack and the request, as a page or JSON. */
function sendDebug (attempt: Attempt, error: unknown, view: ErrorView, html: boolean): void {
  const report = debugReport(error, view, attempt.request, attempt.dispatcher.redaction, attempt.dispatcher.sources)
  if (html) {
    attempt.reply.headers(DEBUG_PAGE_HEADERS).header('content-type', HTML)
    deliver(attempt, view.status, debugPage(report))
  } else {
    attempt.reply.header('content-type', JSON_TYPE).header('cache-control', 'no-store')
    deliver(attempt, view.status, debugJson(report))
  }
}

/** Sends the response and hands the error to the reporters (which run after it is on its way). */
function deliver (attempt: Attempt, status: number, body: unknown): void {
  attempt.reply.code(status).send(body)
  report(attempt, status)
}

/** Hands the attempt's error to the reporters, unless the request is a preview of an error page. */
function report (attempt: Attempt, status: number): void {
  const { reporting } = attempt.dispatcher
  if (reporting !== null && !isPreview(attempt.request)) reporting.schedule(attempt.reported, status, attempt.request)
}

/**
 * A handler sent the reply itself (`reply.send`, `reply.view`): the error is reported once the response
 * is done, with the status it went out with — unless the attempt moved on meanwhile (the render failed
 * and the 500 answers, which reports the failure).
 */
function reportWhenSent (attempt: Attempt): void {
  if (attempt.dispatcher.reporting === null) return
  const { reply } = attempt
  const failures = attempt.failures
  const done = (): void => { if (attempt.failures === failures) report(attempt, reply.raw.statusCode) }
  if (reply.raw.writableEnded) done()
  else reply.raw.once('close', () => { guard(attempt, done) })
}

/**
 * Our own 500 failed to go out through Fastify (an `onSend` hook that throws on every response):
 * write a minimal page straight to the socket, past the hooks, so the client still gets an answer.
 */
function writeRaw500 (reply: FastifyReply): void {
  // The same JSON shape and generic text as every other 500, so clients see one kind of answer.
  const body = JSON.stringify({ statusCode: 500, error: reasonPhrase(500), message: genericText(500), requestId: reply.request.id })
  reply.hijack()
  // A failed attempt may have left headers on the raw response (Fastify's writeHead stores them
  // before Node rejects them, e.g. a `Trailer` an onSend hook set): the last resort sends only its own.
  for (const name of reply.raw.getHeaderNames()) reply.raw.removeHeader(name)
  reply.raw.writeHead(500, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) })
  reply.raw.end(body)
}

/**
 * Headers are gone: no second response can be sent. End the connection so the client sees a
 * failure — unless the response is already complete: then the error is only logged, because
 * destroying the socket would cut a keep-alive connection that may carry the client's next request.
 */
function endAfterHeaders (redaction: Redaction, request: FastifyRequest, reply: FastifyReply, thrown: unknown): void {
  const complete = reply.raw.writableEnded
  request.log.error({ err: isError(thrown) ? thrown : { thrown: describe(thrown) } }, `${redaction.line(request)}: error after the response ${complete ? 'was complete; response kept' : 'headers were sent; connection ended'}`)
  if (!complete) reply.raw.destroy()
}

/**
 * Our own code threw (a logger whose stream throws, a bug): throwing back into Fastify would bring
 * the error straight back here, forever. Log what we can and answer with the raw 500 — or end the
 * connection when headers are out; a complete response is left alone.
 */
function emergency (redaction: Redaction, request: FastifyRequest, reply: FastifyReply, bug: unknown): void {
  try {
    request.log.error({ err: bug }, `${redaction.line(request)}: fastify-flask-errors failed while answering an error`)
  } catch (loggerFailure) {
    // The logger is what failed: the process warning channel (stderr by default) still reaches the operator.
    process.emitWarning(`fastify-flask-errors could not log (${messageOf(loggerFailure)}) while answering ${redaction.line(request)}: ${messageOf(bug)}`)
  }
  if (reply.raw.writableEnded) return
  if (reply.raw.headersSent) reply.raw.destroy()
  else writeRaw500(reply)
}

/** An error's message, or a description of any other value; never throws. */
function messageOf (value: unknown): string {
  try {
    return isError(value) ? String(value.message) : describe(value)
  } catch {
    // A message getter that throws: the value's kind is all that can be said.
    return describe(value)
  }
}
