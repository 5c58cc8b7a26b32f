/**
 * One error, from thrown value to sent response: which handler runs (Flask's lookup), what it did, what
 * failed, and what answers then. The responses the plugin writes itself are lib/respond.ts's.
 *
 * The path is synchronous whenever the handler is, so a plain `abort(404)` costs no promise. Every
 * branch ends in exactly one response: a handler's, the 500 handler's, the built-in 500, or — when
 * even sending fails — a raw 500 written past Fastify's hooks. Nothing is thrown out of here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Attempt, kAttempt } from './attempt.js'
import type { Dispatcher, WithAttempt } from './attempt.js'
import { InternalServerError } from './exceptions.js'
import { applyHeaders, dropBodyHeaders } from './headers.js'
import { interpret } from './interpret.js'
import type { Interpreted } from './interpret.js'
import { isError } from './describe.js'
import { logError, logFailure } from './log.js'
import { traceResponse } from './outcome.js'
import { levelOf } from './log-levels.js'
import { findHandler } from './registry.js'
import type { HandlerEntry } from './registry.js'
import { deliver, emergency, endAfterHeaders, guard, prepare, announceSent, sendDefault, writeRaw500 } from './respond.js'
import { RoutingMiss, allowedMethods } from './routing.js'
import type { MethodIndex } from './routing.js'
import { readThrown } from './thrown.js'
import type { ThrownFacts } from './thrown.js'

/**
 * Answers `thrown` for this request. `instance` is the context that owns it: the route's, or for a
 * framework error the prefixed context that claimed the URL.
 */
export function dispatch (
  dispatcher: Dispatcher, instance: FastifyInstance, thrown: unknown, request: FastifyRequest, reply: FastifyReply
): void {
  try {
    answer(dispatcher, instance, thrown, undefined, request, reply)
  } catch (bug) {
    emergency(dispatcher.redaction, request, reply, bug)
  }
}

/**
 * Answers a request no route matched: 405 with `Allow` when its path is served under other methods
 * (RFC 9110 §15.5.6), else 404. `instance` is the context that owns the URL.
 */
export function dispatchRoutingMiss (
  dispatcher: Dispatcher, instance: FastifyInstance, methods: MethodIndex, request: FastifyRequest, reply: FastifyReply
): void {
  try {
    const miss = RoutingMiss.of(allowedMethods(instance, methods, request.method, request.url))
    answer(dispatcher, instance, miss, miss, request, reply)
  } catch (bug) {
    emergency(dispatcher.redaction, request, reply, bug)
  }
}

/**
 * `miss` is the routing miss when `thrown` is one, told by the caller: asking the thrown value
 * (`instanceof`) could throw, for a Proxy whose traps do.
 */
function answer (
  dispatcher: Dispatcher, instance: FastifyInstance, thrown: unknown, miss: RoutingMiss | undefined,
  request: FastifyRequest, reply: FastifyReply
): void {
  // Called as Fastify's error handler (not its not-found handler): a second error on this reply must
  // come back here, without a second round of onError hooks.
  if (miss === undefined) dispatcher.internals.keepErrorHandler(reply)
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
  if (miss === undefined) dropBodyHeaders(reply)
  const resolved = dispatcher.registry.resolve(instance)
  let error = thrown
  let facts = miss === undefined ? withReplyStatus(readThrown(thrown), thrown, reply.statusCode) : miss.facts
  let entry = findHandler(resolved.chain, facts)
  // A handler, a template or a reporter will see the error: a miss becomes the request's own exception.
  if (miss !== undefined &&
    (entry !== undefined || dispatcher.reporting !== null || dispatcher.templates.find(instance, miss.status) !== undefined)) {
    error = miss.exception()
  }
  const attempt = new Attempt(dispatcher, request, reply, instance, resolved, error, miss)
  ;(reply as WithAttempt)[kAttempt] = attempt

  // The log level is looked up by the thrown value's own facts: a class entry names it even as a 500.
  const thrownFacts = facts
  if (entry === undefined && facts.status === undefined) {
    // Flask's handle_exception: an unhandled value without a status becomes a 500 that keeps it.
    error = new InternalServerError(undefined, { originalError: thrown })
    facts = readThrown(error)
    entry = findHandler(resolved.chain, facts)
  }
  const status = facts.status ?? 500
  const options = resolved.options
  const level = levelOf(options, thrownFacts, status, miss !== undefined)
  logError(request, thrown, status, miss !== undefined, level, dispatcher.redaction, attempt.traceId)
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
  const turn = attempt.turn
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
    if (thenable) awaitResult(attempt, entry, turn, result as PromiseLike<unknown>, error, facts)
  } catch (failure) {
    // A `then` getter that throws, a revoked Proxy, a `then` that throws when called: the result cannot
    // be read, which is a failure of the handler like any other (the 500 handler answers).
    fail(attempt, failure, `error handler ${entry.label} returned a value that cannot be read`)
    return
  }
  if (!thenable) finish(attempt, entry, turn, result, error, facts)
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
  // The span learns the response before Fastify's send, inside which @fastify/otel ends it; an error
  // sent is no response (it comes back to `answer` as the handler's failure, recorded in its turn).
  if (!isError(payload)) traceResponse(attempt, this.statusCode)
  return (Object.getPrototypeOf(this) as FastifyReply).send.call(this, payload)
}

/**
 * An async handler's result, bounded by `errorHandlerTimeout`: a promise that never settles would
 * leave the request hanging (nothing may hang: the client would wait forever), so at the deadline it counts as a
 * failure and the 500 handler (or the built-in 500) answers. A handler that settles after the
 * request moved on (cut off, or it failed through `reply.send(err)` and the 500 handler runs) is
 * ignored: the response is no longer its to make. A late rejection is still logged.
 */
function awaitResult (
  attempt: Attempt, entry: HandlerEntry, turn: number, result: PromiseLike<unknown>, error: unknown, facts: ThrownFacts
): void {
  const { request, reply } = attempt
  const timeout = attempt.resolved.options.errorHandlerTimeout
  const timer = setTimeout(() => {
    if (!attempt.movedOn(turn) && !reply.sent) {
      const late = new Error(`error handler ${entry.label} did not settle within ${timeout} ms`)
      guard(attempt, () => { fail(attempt, late, `error handler ${entry.label} timed out (errorHandlerTimeout)`) })
    }
  }, timeout)
  // Once the response is out (the handler sent it, or the 500 answered after it failed), the deadline
  // guards nothing: it must not keep the request's objects, or a closing process, alive until it fires.
  reply.raw.once('close', () => { clearTimeout(timer) })
  const current = (): boolean => {
    clearTimeout(timer)
    return !attempt.movedOn(turn)
  }
  result.then(
    (value) => { if (current()) guard(attempt, () => { finish(attempt, entry, turn, value, error, facts) }) },
    (failure: unknown) => {
      if (current()) guard(attempt, () => { fail(attempt, failure, `error handler ${entry.label} rejected`) })
      else {
        const what = `error handler ${entry.label} rejected after the request had moved on; its rejection is ignored`
        guard(attempt, () => { logFailure(request, failure, attempt.original, what, attempt.dispatcher.redaction, attempt.traceId) })
      }
    }
  )
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** A handler's return value turned into a response (Flask's `make_response`). */
function finish (attempt: Attempt, entry: HandlerEntry, turn: number, result: unknown, error: unknown, facts: ThrownFacts): void {
  const { reply } = attempt
  // It failed while it ran (its reply.send(err) brought the error back here): the 500 answers now.
  if (attempt.movedOn(turn)) return
  // It sent the reply itself (reply.send), or started to (reply.view returns the reply and renders
  // asynchronously; if rendering fails, Fastify brings that error back to `dispatch`). `sent` alone
  // cannot tell: behind an async onSend hook (@fastify/compress) or with a stream, the response is
  // still on its way when the handler returns.
  if (attempt.sentBy === entry || reply.sent || reply.raw.headersSent || result === reply) {
    announceSent(attempt)
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
    if (refused.length > 0) {
      attempt.request.log.warn({ headers: refused }, `error handler ${entry.label} returned invalid headers; they were dropped`)
    }
  }
  if (response.type !== undefined && !reply.hasHeader('content-type')) reply.header('content-type', response.type)
  deliver(attempt, response.status, response.body)
}

/**
 * A handler failed (it threw, rejected, timed out or returned no response): as Flask's
 * handle_exception, the failure becomes a 500 whose cause is the first error, and the 500 handler
 * runs unless it already ran; a second failure gets the built-in 500. Both are logged.
 */
function fail (attempt: Attempt, failure: unknown, what: string): void {
  const { request, reply } = attempt
  const original = attempt.ownOriginal()
  logFailure(request, failure, original, what, attempt.dispatcher.redaction, attempt.traceId)
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
  const { chain, options } = attempt.resolved
  const entry = attempt.failures > 1 || options.debug ? undefined : findHandler(chain, facts, attempt.tried)
  if (entry === undefined) {
    sendDefault(attempt, error, facts, 500)
    return
  }
  run(attempt, entry, error, facts, 500)
}
