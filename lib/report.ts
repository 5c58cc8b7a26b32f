/**
 * Error reporters: the `report` option. After the core has sent an error
 * response it calls `schedule()`; this module decides whether the error is
 * reported, builds a request summary (secrets masked) and runs the reporters
 * on a later turn of the event loop, so they can neither delay nor break the
 * response. The job Flask leaves to `logging.handlers.SMTPHandler` and
 * error services (Flask docs, "Logging" → "Email Errors to Admins").
 */
import { createHash } from 'node:crypto'
import createError from '@fastify/error'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { InternalServerError } from './exceptions.js'
import { isError } from './log.js'
import type { Redaction } from './redact.js'

/** What a reporter learns about the request that failed. */
export interface RequestSummary {
  /** HTTP method, e.g. `GET`. */
  method: string
  /** The URL as the client sent it, with the values of secret query parameters masked (`?token=[masked]`). */
  url: string
  /** The route pattern that matched (`/users/:id`); `undefined` for routing 404s. */
  route: string | undefined
  /** Fastify's request id (`request.id`), the one on the request's log lines. */
  requestId: string
  /** The client address as Fastify sees it (`request.ip`, honours `trustProxy`). */
  ip: string
  /** Request headers, masked by the app's redaction policy (cookie names and the auth scheme are kept). */
  headers: Record<string, string | string[] | undefined>
}

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
}

/** A reporter: a mail sender, an error-service client. May be async; its failures are logged, never thrown. */
export type Reporter = (report: ErrorReport) => void | Promise<void>

/** The plugin options this module reads. */
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
}

/** The reporting engine the core drives. */
export interface Reporting {
  /** Called right after an error response was sent. Synchronous and cheap; reporters run later. */
  schedule (error: unknown, status: number, request: FastifyRequest): void
  /** Sends the pending duplicate summaries and waits for every running reporter (each bounded by `reportTimeout`). */
  flush (): Promise<void>
}

/** `report` is not a function or a list of functions. */
export const FFE_BAD_REPORTER = createError(
  'FFE_BAD_REPORTER',
  'report must be a function or a list of functions, got %s',
  500,
  TypeError
)

/** `reportWhen` is not a list of status codes or a predicate. */
export const FFE_BAD_REPORT_WHEN = createError(
  'FFE_BAD_REPORT_WHEN',
  'reportWhen must be a list of HTTP status codes (integers 100-599) or a function (status, error) => boolean, got %s',
  500,
  TypeError
)

/** `reportTimeout`, `reportDedupeWindow` or `reportRateLimit` is out of range. */
export const FFE_BAD_REPORT_OPTION = createError(
  'FFE_BAD_REPORT_OPTION',
  '%s must be %s, got %s',
  500,
  RangeError
)

/** Largest delay `setTimeout` honours; above it Node fires after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647

/** What a summary keeps of a repeated error's message and of its stack frames (characters). */
const SNAPSHOT_MESSAGE = 2048
const SNAPSHOT_FRAMES = 4096
/** Causes a snapshot keeps (cause chains can be long, or cyclic). */
const SNAPSHOT_CAUSES = 3

/**
 * What a summary of duplicates carries instead of the repeated error: its class, message, code, stack
 * frames and causes, each cut to a few KB. A window holds one per repeated error, whatever size the
 * thrown value had (a 900 KB message is kept as its first 2 KB). An `Error`, so a reporter that
 * formats `report.error` (a mail, an error service client) needs no special case.
 */
export class ErrorSnapshot extends Error {
  /** The class of the value that was thrown (`TypeError`, `PaymentError`, `string` for a thrown string). */
  readonly type: string
  /** The original's `code`, when it was a string or a number. */
  readonly code: string | number | undefined

  /** Copies a bounded picture of `value`; `depth` counts the causes already taken. */
  constructor (value: unknown, depth = 0) {
    const message = cut(errorMessage(value), SNAPSHOT_MESSAGE)
    const cause = causeOf(value)
    super(message, cause === undefined || depth >= SNAPSHOT_CAUSES ? undefined : { cause: new ErrorSnapshot(cause, depth + 1) })
    this.type = errorClass(value)
    this.name = this.type
    this.code = codeOf(value)
    // The original's frames, not this constructor's: they say where the error was thrown.
    this.stack = `${this.type}: ${message}\n${cut(framesOf(value), SNAPSHOT_FRAMES)}`.trimEnd()
  }
}

/**
 * `text` cut at `max` characters with a marker saying how much was left out, as a string of its own:
 * V8 makes a slice of a long string a view that keeps the whole original alive (a 2 KB cut of a
 * 900 KB message would hold the 900 KB), so the kept text is copied through a buffer, code unit for
 * code unit (UTF-16), which makes a flat string that owns its characters.
 */
function cut (text: string, max: number): string {
  const kept = text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more characters]`
  return Buffer.from(kept, 'utf16le').toString('utf16le')
}

/** An error's `cause`, read without throwing. */
function causeOf (value: unknown): unknown {
  try {
    return isError(value) ? value.cause : undefined
  } catch {
    // A throwing `cause` getter ends the chain the snapshot keeps.
    return undefined
  }
}

/** A string or number `code`, cut; anything else is not kept (it could be any size). */
function codeOf (value: unknown): string | number | undefined {
  try {
    const code = isError(value) ? (value as { code?: unknown }).code : undefined
    return typeof code === 'number' ? code : typeof code === 'string' ? cut(code, 200) : undefined
  } catch {
    // A throwing `code` getter: the snapshot has no code.
    return undefined
  }
}

/** Short, safe description of a bad option value for error messages. */
export function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  return typeof value
}

/** `String(value)` that cannot throw (`String(Object.create(null))` does). */
export function safeString (value: unknown): string {
  try {
    return String(value)
  } catch {
    // A toString that throws (or none, on a null-prototype object): the tag still names the kind.
    return Object.prototype.toString.call(value)
  }
}

/** The class name of a thrown value: `TypeError`, `Object`, `string`… */
export function errorClass (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value
  try {
    const ctor: unknown = (value as { constructor?: unknown }).constructor
    return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'Object'
  } catch {
    // A revoked Proxy or a throwing getter: reports are scheduled after the response, and a value
    // that cannot be read must not break that step; it is reported under this name.
    return 'Unreadable'
  }
}

/** The message of a thrown value; the value itself as a string when it is not an error. */
export function errorMessage (value: unknown): string {
  try {
    return isError(value) ? safeString(value.message) : safeString(value)
  } catch {
    // The message getter threw.
    return '(unreadable message)'
  }
}

/**
 * The frame lines of an error's stack, from the first `at …` line after the message: V8 writes the
 * stack as `Name: message` and then the frames, and a message can itself contain lines that look like
 * frames (`"\n    at fake (x.js:1:1)"` from user input), which must not count as the throw site.
 */
function framesOf (value: unknown): string {
  let stack: unknown
  try {
    stack = isError(value) ? value.stack : undefined
  } catch {
    // The stack getter threw: there are no frames to read.
    return ''
  }
  if (typeof stack !== 'string') return ''
  const message = errorMessage(value)
  const at = message === '' ? -1 : stack.indexOf(message)
  const rest = at === -1 ? stack : stack.slice(at + message.length)
  const first = /^[ \t]*at /m.exec(rest)
  return first === null ? '' : rest.slice(first.index)
}

/** The first `at …` line of an error's stack (after its message), the place it was thrown from. */
function topFrame (value: unknown): string {
  const frames = framesOf(value)
  const end = frames.indexOf('\n')
  return (end === -1 ? frames : frames.slice(0, end)).trim()
}

/** Identity of an error for duplicate suppression: class + message + top stack frame. */
export function fingerprint (value: unknown): string {
  return `${errorClass(value)}\u0000${errorMessage(value)}\u0000${topFrame(value)}`
}

/** A fixed-size key for a map: what a window keeps of an identity, whatever the message's size. */
function digest (text: string): string {
  return createHash('sha1').update(text).digest('base64')
}

/**
 * What a report is about. A handler that failed is reported as the 500 made of its failure
 * (`originalError`) and of the error it was handling (`cause`); the failure is the bug, so it is what
 * tells reports apart — otherwise every failing handler would share the wrapper's class and text.
 */
export function reportedFailure (error: unknown): unknown {
  try {
    return error instanceof InternalServerError && error.originalError !== undefined ? error.originalError : error
  } catch {
    // A revoked Proxy cannot even be asked for its class: it is reported as the value it is.
    return error
  }
}

/**
 * The keys the budget uses: `key` is the error (class + message + throw site), `site` the place it
 * comes from (class + throw site, any message), both hashed.
 */
function identify (reported: unknown): { key: string, site: string } {
  const value = reportedFailure(reported)
  return { key: digest(fingerprint(value)), site: digest(`${errorClass(value)}\u0000${topFrame(value)}`) }
}

/** Plain-object form of an error and its `cause` chain, for log lines (pino only serialises the `err` key). */
export function serializeError (value: unknown, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { type: errorClass(value), message: errorMessage(value) }
  if (isError(value)) {
    try {
      if (typeof value.stack === 'string') out.stack = value.stack
      const code = (value as { code?: unknown }).code
      if (code !== undefined) out.code = code
      // Depth cap: a cause chain may be cyclic (a.cause = b, b.cause = a).
      if (value.cause !== undefined && depth < 8) out.cause = serializeError(value.cause, depth + 1)
    } catch {
      // A getter threw: the fields read so far are what the log line gets.
      out.unreadable = true
    }
  }
  return out
}

/** The part of a request a reporter may see: method, masked URL, route, request id, client address, masked headers. */
export function summarizeRequest (request: FastifyRequest, redaction: Redaction): RequestSummary {
  return Object.freeze({
    method: request.method,
    url: redaction.url(request.url),
    route: request.routeOptions.url,
    requestId: request.id,
    ip: request.ip,
    headers: Object.freeze(redaction.headers(request.headers))
  })
}

/** Validates `report` and returns the reporters as a list, `null`/`undefined` (a reporter switched off) left out. */
function toReporters (report: unknown): Reporter[] {
  const list: unknown[] = Array.isArray(report) ? report : [report]
  const reporters: Reporter[] = []
  for (const item of list) {
    if (item === undefined || item === null) continue
    if (typeof item !== 'function') throw new FFE_BAD_REPORTER(Array.isArray(report) ? `a list containing ${describeValue(item)}` : describeValue(item))
    reporters.push(item as Reporter)
  }
  return reporters
}

/** Validates `reportWhen` and returns the decision function. */
function toPredicate (reportWhen: unknown): (status: number, error: unknown) => boolean {
  if (reportWhen === undefined) return isServerError
  if (typeof reportWhen === 'function') return reportWhen as (status: number, error: unknown) => boolean
  if (Array.isArray(reportWhen)) {
    for (const status of reportWhen) {
      if (!Number.isInteger(status) || status < 100 || status > 599) throw new FFE_BAD_REPORT_WHEN(`a list containing ${describeValue(status)}`)
    }
    const statuses = new Set<number>(reportWhen as number[])
    return (status) => statuses.has(status)
  }
  throw new FFE_BAD_REPORT_WHEN(describeValue(reportWhen))
}

/** Default `reportWhen`: the server's own failures, as Flask's `log_exception` only fires for unhandled errors. */
function isServerError (status: number): boolean {
  return status >= 500
}

/** Validates a positive integer option no larger than `max`. */
function positiveInteger (name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new FFE_BAD_REPORT_OPTION(name, `an integer from 1 to ${max}`, describeValue(value))
  }
  return value
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
  last: { error: ErrorSnapshot, status: number, request: RequestSummary, time: Date, log: FastifyBaseLogger } | undefined
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
 * Validates the options at registration (throws `FFE_BAD_REPORTER`,
 * `FFE_BAD_REPORT_WHEN`, `FFE_BAD_REPORT_OPTION`). Returns null when there is
 * no reporter, so the core does nothing at all.
 */
export function createReporting (options: ReportOptions, log: FastifyBaseLogger, redaction: Redaction): Reporting | null {
  const reporters = toReporters(options.report)
  const shouldReport = toPredicate(options.reportWhen)
  const timeout = positiveInteger('reportTimeout', options.reportTimeout, 10_000, MAX_TIMER_MS)
  const windowMs = positiveInteger('reportDedupeWindow', options.reportDedupeWindow, 60_000, MAX_TIMER_MS)
  const rateLimit = positiveInteger('reportRateLimit', options.reportRateLimit, 100, Number.MAX_SAFE_INTEGER)
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

  function startWindow (): void {
    windowTimer = setTimeout(roll, windowMs)
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
      const { log: requestLog, ...last } = entry.last
      const count = entry.extra
      entry.extra = 0
      entry.last = undefined
      sent++
      dispatch({ ...last, count }, requestLog)
    }
    if (dropped > 0) {
      log.warn({ dropped, reportRateLimit: rateLimit, perSite, reserved, reportDedupeWindow: windowMs },
        `${dropped} error report(s) dropped: over the budget of ${rateLimit} reports per ${windowMs} ms (at most ${perSite} distinct errors from one throw site; ${reserved} kept for errors from new throw sites)`)
      dropped = 0
    }
    if (final) entries.clear()
    if (entries.size > 0) startWindow()
  }

  function dispatch (fields: Omit<ErrorReport, 'count'> & { count: number }, requestLog: FastifyBaseLogger): void {
    const report: ErrorReport = Object.freeze({ ...fields })
    // setImmediate: the response has been handed to the socket; reporters
    // start on a later turn so their synchronous part cannot delay it.
    const job = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => { await Promise.all(reporters.map((reporter, index) => runReporter(reporter, index, report, requestLog))) })
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

  function schedule (error: unknown, status: number, request: FastifyRequest): void {
    const requestLog = request.log
    let wanted: boolean
    try {
      wanted = Boolean(shouldReport(status, error))
    } catch (predicateError) {
      // A broken predicate must not silence the reports it guards: fall back
      // to the default rule and say so.
      wanted = isServerError(status)
      requestLog.error({ err: predicateError }, `reportWhen threw; using the default rule (status >= 500) for this ${status} error`)
    }
    if (!wanted) return
    const time = new Date()
    const { key, site } = identify(error)
    const entry = entries.get(key)
    if (entry !== undefined) {
      entry.extra++
      entry.last = { error: new ErrorSnapshot(reportedFailure(error)), status, request: summarizeRequest(request, redaction), time, log: requestLog }
      return
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
      return
    }
    sent++
    sites.set(site, (fromSite ?? 0) + 1)
    entries.set(key, { extra: 0, last: undefined })
    dispatch({ error, status, request: summarizeRequest(request, redaction), time, count: 1 }, requestLog)
  }

  async function flush (): Promise<void> {
    clearTimeout(windowTimer)
    roll(true)
    // Reporters may finish while others are still being waited for; loop until none is left.
    while (pending.size > 0) await Promise.all(pending)
  }

  return { schedule, flush }
}
