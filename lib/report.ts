/**
 * Error reporters: the `report` option. After the core has sent an error response it calls
 * `schedule()`; this module decides whether the error is reported, holds repeats for one summary per
 * window within the report budget, and runs the reporters on a later turn of the event loop, so they
 * can neither delay nor break the response. The job Flask leaves to `logging.handlers.SMTPHandler`
 * and error services (Flask docs, "Logging" → "Email Errors to Admins"). The options arrive checked
 * and with their defaults (lib/options.ts); what a report is about is lib/report-identity.ts, the
 * request it shows lib/report-request.ts.
 */
import { AsyncResource } from 'node:async_hooks'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { serializeError } from './describe.js'
import type { AppOptions } from './options.js'
import type { Redaction } from './redact.js'
import { gatherContext } from './report-context.js'
import type { ReportContext, ReportContextFunction } from './report-context.js'
import { ErrorSnapshot, reportKeys, reportedFailure } from './report-identity.js'
import { summarizeRequest } from './report-request.js'
import type { RequestSummary } from './report-request.js'

/** One report, as a reporter receives it. The object is frozen: reporters share it. */
export interface ErrorReport {
  /**
   * The original value that was thrown (not the HTTP exception that wrapped it). When an error
   * handler failed, the `InternalServerError` whose `originalError` is that failure and whose `cause`
   * is the error the handler was handling: the failure is the bug to fix. In a summary of
   * duplicates (`count > 1`) an {@link ErrorSnapshot} of the last one instead: the first report of
   * the error carried the real value, and a window must not hold every repeat's error in memory.
   */
  error: unknown
  /** The status code that was sent to the client. */
  status: number
  /** The request that failed (for a collapsed report: the last one). */
  request: RequestSummary
  /** When the (last) error happened. */
  time: Date
  /** How many identical errors this report stands for: 1 for a first occurrence, more for a summary of duplicates. */
  count: number
  /**
   * The trace id of the request's OpenTelemetry span, when `@opentelemetry/api` is installed and a span
   * was active (for a summary: the last one's): the link from a mail or an error service to the trace.
   */
  traceId: string | undefined
  /**
   * Who and what the error concerned (a user id, a tenant), from the reported error's `context()`
   * method and the `reportContext` option (its fields win a clash); for a summary: the last one's.
   * Bounded (50 fields per object, 4 levels, 1 KB strings, 8 KB in all), fields whose names suggest a
   * secret masked by the app's redaction policy, frozen all the way down. `{}` when there is none.
   */
  context: ReportContext
}

/** A reporter: a mail sender, an error-service client. May be async; its failures are logged, never thrown. */
export type Reporter = (report: ErrorReport) => void | Promise<void>

/** The plugin options about reporting (checked, with their defaults, in lib/options.ts). */
export interface ReportOptions {
  /**
   * One reporter or a list; none (the default) turns reporting off entirely.
   * `null` entries are skipped, so `report: [mailReporterFromEnv(), other]`
   * works when the mail reporter is switched off.
   */
  report?: Reporter | null | ReadonlyArray<Reporter | null | undefined>
  /** which sent errors are reported; default: status >= 500 */
  reportWhen?: number[] | ((status: number, error: unknown) => boolean)
  /** ms a reporter may take before it is cut off (logged), default 10_000 */
  reportTimeout?: number
  /** ms, default 60_000; same error (class + message + top stack frame) inside the window is reported once with a count */
  reportDedupeWindow?: number
  /** max reports per dedupe window, default 100 (the rest are counted and logged as dropped) */
  reportRateLimit?: number
  /**
   * `(request, error) => ({ userId, tenant })`, sync or async: fields merged into each report's `context`,
   * read while the request is live, only for errors that are reported. One that throws, rejects, returns
   * anything but a plain object or takes longer than `reportTimeout` is logged and left out.
   */
  reportContext?: ReportContextFunction
}

/** The reporting engine the core drives. */
export interface Reporting {
  /**
   * Called right after an error response was sent. Synchronous and cheap; reporters run later. Returns
   * whether the error will reach the reporters (now, or in a summary of repeats): false when
   * `reportWhen` leaves it out or the window's report budget drops it.
   */
  schedule (error: unknown, status: number, request: FastifyRequest, traceId?: string): boolean
  /** Sends the pending duplicate summaries and waits for every running reporter (each bounded by `reportTimeout`). */
  flush (): Promise<void>
}

/**
 * The default `reportWhen`, and the rule used for an error when the app's own `reportWhen` throws:
 * the server's own failures, as Flask's `log_exception` only fires for unhandled errors.
 */
export function isServerError (status: number): boolean {
  return status >= 500
}

/** A reporter's name for log lines. */
function reporterName (reporter: Reporter, index: number): string {
  return reporter.name === '' ? `#${index}` : `${reporter.name} (#${index})`
}

/** One dedupe-window entry: an error already reported in this window. */
interface Entry {
  /** Occurrences since the last report of this error (0 while `last` is undefined). */
  extra: number
  /** The last unreported occurrence (its error as a bounded snapshot), sent in the summary when the window rolls. */
  last: Occurrence<ErrorSnapshot> | undefined
}

/**
 * One reported occurrence, as `schedule` takes it down for a report: its context still settling when a
 * source of it is async (the reporters wait for it, at most `reportTimeout`; lib/report-context.ts).
 */
interface Occurrence<E> {
  error: E
  status: number
  request: RequestSummary
  time: Date
  traceId: string | undefined
  context: ReportContext | Promise<ReportContext>
  log: FastifyBaseLogger
}

/**
 * How the window's budget of `rateLimit` reports is shared, so that a flood cannot hide a new error:
 * `perSite` is the most first reports one throw site (class + top frame, any message) may take in a
 * window; `reserved` is the part of the budget only errors from a site not yet reported in the window
 * may use (and that summaries of repeats leave free).
 */
function shares (rateLimit: number): { perSite: number, reserved: number } {
  return { perSite: Math.max(1, Math.floor(rateLimit / 10)), reserved: rateLimit < 2 ? 0 : Math.max(1, Math.floor(rateLimit / 10)) }
}

/**
 * The reporting engine of one app, from its normalised options. Returns null when there is no
 * reporter, so the core does nothing at all.
 */
export function createReporting (options: AppOptions, log: FastifyBaseLogger, redaction: Redaction): Reporting | null {
  const { report: reporters, reportWhen: shouldReport, reportTimeout: timeout } = options
  const { reportDedupeWindow: windowMs, reportRateLimit: rateLimit } = options
  if (reporters.length === 0) return null

  // Fixed windows. Each entry in `entries` uses one report of the window's
  // budget: a first occurrence is reported at once; its duplicates are counted
  // and sent as one summary when the window rolls. An entry that had
  // duplicates stays for the next window (the error is still happening: count
  // on, one summary per window); the others are dropped, so the map never
  // holds more than `rateLimit` entries. Keys are hashes and a held repeat is
  // a bounded snapshot, so the map's size does not depend on the messages'.
  const { perSite, reserved } = shares(rateLimit)
  const entries = new Map<string, Entry>()
  /** Throw site → first reports it had in this window. At most one key per report sent. */
  const sites = new Map<string, number>()
  let sent = 0
  let dropped = 0
  let windowTimer: NodeJS.Timeout | undefined
  const pending = new Set<Promise<void>>()

  // The window's timer is started by whichever request first reports in it, but the summaries it sends
  // are no one request's: it runs in the async context of the registration, so a reporter reading an
  // AsyncLocalStorage (Sentry's scopes, an app's request store, the active trace) finds none of that
  // request's in a summary.
  const outsideRequests = new AsyncResource('fastify-flask-errors:report-window')

  function startWindow (): void {
    windowTimer = outsideRequests.runInAsyncScope(() => setTimeout(roll, windowMs))
    // A window must not keep the process alive; fastify.close() flushes.
    windowTimer.unref()
  }

  function roll (final = false): void {
    windowTimer = undefined
    sent = 0
    sites.clear()
    for (const [key, entry] of entries) {
      if (entry.last === undefined) {
        entries.delete(key)
        continue
      }
      // Summaries leave the reserved part of the new window free for new
      // errors; one that does not fit is dropped (and counted), and the error
      // is new again. At close there is no next window to keep room in.
      if (!final && sent >= rateLimit - reserved) {
        entries.delete(key)
        dropped++
        continue
      }
      const last = entry.last
      const count = entry.extra
      entry.extra = 0
      entry.last = undefined
      sent++
      dispatch(last, count)
    }
    if (dropped > 0) {
      log.warn({ dropped, reportRateLimit: rateLimit, perSite, reserved, reportDedupeWindow: windowMs },
        `${dropped} error report(s) dropped: over the budget of ${rateLimit} reports per ${windowMs} ms ` +
        `(at most ${perSite} distinct errors from one throw site; ${reserved} kept for errors from new throw sites)`)
      dropped = 0
    }
    if (final) entries.clear()
    if (entries.size > 0) startWindow()
  }

  function dispatch (occurrence: Occurrence<unknown>, count: number): void {
    const { log: requestLog, context, ...fields } = occurrence
    // setImmediate: the response has been handed to the socket; reporters
    // start on a later turn so their synchronous part cannot delay it.
    const job = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        // An async context never rejects and settles within the timeout (lib/report-context.ts).
        const report: ErrorReport = Object.freeze({ ...fields, count, context: await context })
        await Promise.all(reporters.map((reporter, index) => runReporter(reporter, index, report, requestLog)))
      })
      .finally(() => { pending.delete(job) })
    pending.add(job)
  }

  async function runReporter (reporter: Reporter, index: number, report: ErrorReport, requestLog: FastifyBaseLogger): Promise<void> {
    const name = reporterName(reporter, index)
    let finished = false
    const work = (async () => { await reporter(report) })().then(
      () => { finished = true },
      (reporterError: unknown) => {
        requestLog.error({
          err: reporterError,
          reportedError: serializeError(report.error),
          reporter: name,
          cutOff: finished
        }, `error reporter ${name} failed while reporting ${redaction.line(report.request)}${finished ? ' (after being cut off)' : ''}`)
        finished = true
      }
    )
    let timer: NodeJS.Timeout | undefined
    const cutOff = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeout) })
    await Promise.race([work, cutOff])
    clearTimeout(timer)
    if (!finished) {
      // The promise cannot be cancelled; stop waiting for it so flush() and
      // close() stay bounded. A late rejection is still logged above.
      finished = true
      requestLog.error({
        reporter: name,
        reportTimeout: timeout,
        reportedError: serializeError(report.error)
      }, `error reporter ${name} did not finish within ${timeout} ms and was cut off (reporting ${redaction.line(report.request)})`)
    }
  }

  function wants (status: number, error: unknown, request: FastifyRequest): boolean {
    try {
      return Boolean(shouldReport(status, error))
    } catch (predicateError) {
      // A broken predicate must not silence the reports it guards: fall back
      // to the default rule and say so.
      request.log.error({ err: predicateError }, `reportWhen threw; using the default rule (status >= 500) for this ${status} error`)
      return isServerError(status)
    }
  }

  /** The context of an occurrence that will be reported (a first report, or the repeat a summary shows). */
  function contextOf (error: unknown, request: FastifyRequest): ReportContext | Promise<ReportContext> {
    return gatherContext(options.reportContext, error, request, redaction, timeout)
  }

  function schedule (error: unknown, status: number, request: FastifyRequest, traceId?: string): boolean {
    if (!wants(status, error, request)) return false
    const requestLog = request.log
    const time = new Date()
    const { key, site } = reportKeys(error)
    const entry = entries.get(key)
    if (entry !== undefined) {
      entry.extra++
      const snapshot = new ErrorSnapshot(reportedFailure(error))
      const context = contextOf(error, request)
      entry.last = { error: snapshot, status, request: summarizeRequest(request, redaction), time, traceId, context, log: requestLog }
      return true
    }
    if (windowTimer === undefined) startWindow()
    // A site already reported in this window may take `perSite` first
    // reports, and not the reserved end of the budget; a new site may take
    // any report left. So a flood of distinct junk from a few places leaves
    // room for the error that matters.
    const fromSite = sites.get(site)
    const allowed = fromSite === undefined ? sent < rateLimit : fromSite < perSite && sent < rateLimit - reserved
    if (!allowed) {
      dropped++
      return false
    }
    sent++
    sites.set(site, (fromSite ?? 0) + 1)
    entries.set(key, { extra: 0, last: undefined })
    const context = contextOf(error, request)
    dispatch({ error, status, request: summarizeRequest(request, redaction), time, traceId, context, log: requestLog }, 1)
    return true
  }

  async function flush (): Promise<void> {
    clearTimeout(windowTimer)
    roll(true)
    // Reporters may finish while others are still being waited for; loop until none is left.
    while (pending.size > 0) await Promise.all(pending)
  }

  return { schedule, flush }
}
