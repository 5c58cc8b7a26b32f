/**
 * The responses the plugin writes itself: the default one (JSON, problem details, the built-in page, a
 * context's template page, the debug report), the raw 500 written past Fastify's hooks when even that
 * fails, and the ends of a request whose headers are already out. Which of them answers, and when a
 * handler runs instead, is lib/dispatch.ts's.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Attempt } from './attempt.js'
import { HTTPException } from './exceptions.js'
import { appendVary, applyHeaders, foreignFilter } from './headers.js'
import { HTML_TYPE as HTML, JSON_TYPE } from './interpret.js'
import { describe, isError } from './describe.js'
import { logFailure } from './log.js'
import { debugJson } from './debug.js'
import { DEBUG_PAGE_HEADERS, debugPage } from './debug-page.js'
import { debugReport } from './debug-report.js'
import { PAGE_CSP, bareFields, errorJson, errorView, genericText, reasonPhrase } from './pages.js'
import type { ErrorView } from './pages.js'
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js'
import type { Redaction } from './redact.js'
import { errorHeaders } from './thrown.js'
import type { ThrownFacts } from './thrown.js'
import { announce, anyoneListens, traceResponse } from './outcome.js'
import { templateContext } from './templates.js'

/**
 * The reply as every error response starts: the status, the headers the error carries, and no MIME
 * sniffing (RFC 7034's companion `X-Content-Type-Options`: an error body is never to be read as
 * script or HTML other than declared). A handler may still change any of them.
 */
export function prepare (attempt: Attempt, error: unknown, facts: ThrownFacts, status: number, keepSet = false): void {
  attempt.reply.code(status).header('x-content-type-options', 'nosniff')
  carryErrorHeaders(attempt, error, facts, status, keepSet)
}

/** Runs a step that happens outside Fastify's call (a promise callback, a timer) with the same safety net. */
export function guard (attempt: Attempt, step: () => void): void {
  try {
    step()
  } catch (bug) {
    emergency(attempt.dispatcher.redaction, attempt.request, attempt.reply, bug)
  }
}

/**
 * The headers the error carries (`Allow`, `Retry-After`, …), set before the handler may override them:
 * all of ours (validated), and of a foreign error's only those that belong to the status answered.
 */
function carryErrorHeaders (attempt: Attempt, error: unknown, facts: ThrownFacts, status: number, keepSet: boolean): void {
  const { reply, miss } = attempt
  if (miss !== undefined && error === miss) {
    // A miss carries only the methods of its path: a 405's `Allow` (RFC 9110 §15.5.6 requires it).
    if (miss.status === 405) reply.header('allow', miss.allow)
    return
  }
  const ours = error instanceof HTTPException
  // Ours always carry their own; a foreign error's are read only when it has a status (else it is a 500).
  const headers = ours || facts.status !== undefined ? errorHeaders(error) : undefined
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
 * The default response for `error`: JSON (or problem details) or a page, by the context's `format`
 * and the client's Accept (RFC 9110 §12.5.1), as Fastify's own error JSON unless the client prefers HTML.
 */
export function sendDefault (attempt: Attempt, error: unknown, facts: ThrownFacts, status: number, keepSet = false): void {
  const { request, reply, resolved } = attempt
  attempt.current = undefined
  prepare(attempt, error, facts, status, keepSet)
  const policy = resolved.options.format
  if (policy === 'negotiate') appendVary(reply, 'Accept')
  const view = errorView(status, facts, error, request.id, request.url, attempt.traceId)
  const representation = attempt.dispatcher.negotiation.choose(request.headers.accept, policy)
  if (resolved.options.debug && status >= 500) {
    sendDebug(attempt, error, view, representation === 'html')
  } else if (representation === 'html') {
    sendHtml(attempt, error, view)
  } else if (resolved.options.problemDetails) {
    reply.header('content-type', PROBLEM_CONTENT_TYPE)
    deliver(attempt, status, problemBody(view, error, request.log))
  } else {
    reply.header('content-type', JSON_TYPE)
    deliver(attempt, status, attempt.dispatcher.bodies.json(view))
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
  const { redaction } = attempt.dispatcher
  const page = attempt.lastResort ? undefined : attempt.dispatcher.templates.find(attempt.instance, view.status)
  if (page === undefined) {
    sendBuiltInPage(attempt, view)
    return
  }
  // While the template renders, the request may move on (Fastify's handlerTimeout fails it, and the
  // 500 answers): a render that finishes after that must not send a second response.
  const turn = attempt.turn
  // Or our raw 500 went out meanwhile (the emergency path), which no failure counted.
  const movedOn = (): boolean => attempt.movedOn(turn) || reply.sent
  attempt.dispatcher.templates.render(reply, page, templateContext(error, view, attempt.resolved.options.debug), (html, failure) => {
    guard(attempt, () => {
      if (html !== undefined) {
        if (movedOn()) {
          const late = `error page template ${page} finished after the request had moved on; it was not sent`
          request.log.warn(`${redaction.line(request)}: ${late}`)
          return
        }
        // `nosniff` is already on the reply (prepare, as on every error response).
        reply.header('content-type', HTML)
        deliver(attempt, view.status, html)
      } else if (movedOn()) {
        const what = `error page template ${page} failed after the request had moved on`
        logFailure(request, failure, attempt.original, what, redaction, attempt.traceId)
      } else {
        const what = `error page template ${page} failed; the built-in page was sent instead`
        logFailure(request, failure, attempt.original, what, redaction, attempt.traceId)
        sendBuiltInPage(attempt, view)
      }
    })
  })
}

function sendBuiltInPage (attempt: Attempt, view: ErrorView): void {
  // `nosniff`, the page's other header, is on the reply already (prepare).
  attempt.reply.header('content-security-policy', PAGE_CSP).header('content-type', HTML)
  deliver(attempt, view.status, attempt.dispatcher.bodies.page(view))
}

/** Debug mode, 5xx (Werkzeug's debugger, without its console): the error, its causes, the stack and the request. */
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

/** Sends the response, records it on the trace and the channel, and hands the error to the reporters (which run after it is on its way). */
export function deliver (attempt: Attempt, status: number, body: unknown): void {
  traceResponse(attempt, status)
  attempt.reply.code(status).send(body)
  announce(attempt, status)
}

/**
 * A handler sent the reply itself (`reply.send`, `reply.view`): the trace and the channel learn it now,
 * with the status set on the reply (a span ends when its response is sent: @fastify/otel ends it in
 * `onSend`); the error is reported once the response is done, with the status it went out with — unless
 * the attempt moved on meanwhile (the render failed and the 500 answers, which reports the failure and
 * is announced in its turn).
 */
export function announceSent (attempt: Attempt): void {
  const { reply } = attempt
  traceResponse(attempt, reply.statusCode)
  if (!anyoneListens(attempt)) return
  const turn = attempt.turn
  const done = (): void => { if (!attempt.movedOn(turn)) announce(attempt, reply.raw.statusCode) }
  if (reply.raw.writableEnded) done()
  else reply.raw.once('close', () => { guard(attempt, done) })
}

/**
 * Our own 500 failed to go out through Fastify (an `onSend` hook that throws on every response):
 * write a minimal page straight to the socket, past the hooks, so the client still gets an answer.
 */
export function writeRaw500 (reply: FastifyReply): void {
  // The same JSON shape and generic text as every other 500, so clients see one kind of answer.
  const body = errorJson(bareFields(500, reasonPhrase(500), genericText(500), reply.request.id))
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
export function endAfterHeaders (redaction: Redaction, request: FastifyRequest, reply: FastifyReply, thrown: unknown): void {
  const complete = reply.raw.writableEnded
  const outcome = complete ? 'was complete; response kept' : 'headers were sent; connection ended'
  const err = isError(thrown) ? thrown : { thrown: describe(thrown) }
  request.log.error({ err }, `${redaction.line(request)}: error after the response ${outcome}`)
  if (!complete) reply.raw.destroy()
}

/**
 * Our own code threw (a logger whose stream throws, a bug): throwing back into Fastify would bring
 * the error straight back here, forever. Log what we can and answer with the raw 500 — or end the
 * connection when headers are out; a complete response is left alone.
 */
export function emergency (redaction: Redaction, request: FastifyRequest, reply: FastifyReply, bug: unknown): void {
  try {
    request.log.error({ err: bug }, `${redaction.line(request)}: fastify-flask-errors failed while answering an error`)
  } catch (loggerFailure) {
    // The logger is what failed: the process warning channel (stderr by default) still reaches the operator.
    const answering = redaction.line(request)
    process.emitWarning(`fastify-flask-errors could not log (${messageOf(loggerFailure)}) while answering ${answering}: ${messageOf(bug)}`)
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
