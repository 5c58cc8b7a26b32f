/**
 * The mail a report becomes: its subject (one line, bounded, no query string) and its plain-text body
 * (the error with its stack and causes, the request with its trace id, the report context, the masked
 * headers), written so that nothing taken from the error, the request or the context can pass for a
 * header or a section of the mail.
 */
import { STATUS_CODES } from 'node:http'
import { inspect } from 'node:util'
import { causeChain, errorClass, errorMessage, isError } from './describe.js'
import type { ErrorReport } from './report.js'
import { reportedFailure } from './report-identity.js'

/** Longest path shown in a subject; the body has the whole URL. */
const MAX_SUBJECT_PATH = 120

/**
 * Longest subject, prefix and count included. RFC 5322 §2.1.1 asks for lines of at most 78
 * characters; a subject is folded, but past a couple of hundred characters it is only noise (and a
 * custom subject function could return a whole message).
 */
const MAX_SUBJECT = 200

/** Longest error text (stack and causes) in a body: a 900 KB message is the client's doing, not news. */
const MAX_ERROR_TEXT = 64 * 1024

/**
 * Line breaks and other control characters, never allowed in a header: C0, DEL, C1 (NEL is a line
 * break to some readers) and the Unicode line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g

/** Every line break a mail reader may honour, for splitting user text into lines of its own. */
const LINE_BREAK = /\r\n|[\r\n\u0085\u2028\u2029]/

/** Control characters left inside a line (all but tab): shown as `\u001b`, never sent raw to a terminal mail reader. */
// eslint-disable-next-line no-control-regex
const INLINE_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * What the body's text sections are made of: user-controlled text (the error, the URL, header values)
 * is indented by this on every line, so only the mail's own headings start at the margin and a message
 * such as "\n\nRequest\n-------\n…" cannot pass for a section of the mail.
 */
const INDENT = '    '

/** One line, no control characters: safe to put in a header. */
function oneLine (text: string): string {
  return text.replace(CONTROL, ' ').trim()
}

/** A subject: one line, at most `MAX_SUBJECT` characters (a custom subject function's result too). */
export function subjectLine (text: string): string {
  const line = oneLine(text)
  return line.length <= MAX_SUBJECT ? line : `${line.slice(0, MAX_SUBJECT - 1)}…`
}

/** Control characters inside a line shown as `\\u001b` text. */
function escapeControls (line: string): string {
  return line.replace(INLINE_CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `text` as body lines: every line break honoured, each line indented, control characters shown escaped. */
function indented (text: string): string[] {
  return text.split(LINE_BREAK).map((line) => INDENT + escapeControls(line))
}

/** One value on one line (a URL, a header value): line breaks become spaces, controls are shown escaped. */
function inline (text: string): string {
  return escapeControls(text.split(LINE_BREAK).join(' '))
}

/** The default subject: `[error] 500 Internal Server Error: GET /path`, plus the count for a summary. */
export function defaultSubject (report: ErrorReport, prefix = '[error]'): string {
  const reason = STATUS_CODES[report.status] ?? 'Error'
  const queryAt = report.request.url.indexOf('?')
  // The query string stays out of the subject: it may hold tokens, and mail
  // subjects end up in many more places (notifications, logs) than bodies.
  let path = queryAt === -1 ? report.request.url : report.request.url.slice(0, queryAt)
  if (path.length > MAX_SUBJECT_PATH) path = path.slice(0, MAX_SUBJECT_PATH) + '…'
  const times = report.count > 1 ? ` (${report.count} times)` : ''
  return subjectLine(`${prefix} ${report.status} ${reason}: ${report.request.method} ${path}${times}`)
}

/** Describes one link of a cause chain: its stack (which names class and message) or, for a non-error, its inspected value. */
function describeLink (value: unknown): string {
  if (!isError(value)) return `${errorClass(value)} thrown (not an Error): ${inspect(value, { depth: 3 })}`
  try {
    const head = typeof value.stack === 'string' && value.stack !== '' ? value.stack : `${errorClass(value)}: ${value.message}`
    const code = (value as { code?: unknown }).code
    return code === undefined ? head : `${head}\n    code: ${inspect(code)}`
  } catch {
    // A stack, message or code getter threw: the mail still names the error, as far as it can be read.
    return `${errorClass(value)}: ${errorMessage(value)} (some of its fields could not be read)`
  }
}

/**
 * The error and its `cause` chain as text. A failed handler's report (a 500 made of its failure and of
 * the error it was handling) shows the failure first, then what it was handling.
 */
export function formatError (error: unknown): string {
  const failure = reportedFailure(error)
  if (failure === error) return formatChain(error)
  return `${formatChain(failure)}\n\nRaised by an error handler while it was handling:\n\n${formatChain((error as Error).cause)}`
}

/** What the body says where a cause chain stops before its end. */
const CHAIN_ENDS = {
  end: undefined,
  loop: 'Caused by: (the chain loops back to an error shown above)',
  cut: 'Caused by: … (chain cut)',
  unreadable: 'Caused by: (unreadable: reading the cause threw)'
} as const

/** One error and its `cause` chain as text. */
function formatChain (error: unknown): string {
  const { links, end } = causeChain(error)
  const parts = links.map((link, index) => index === 0 ? describeLink(link) : `Caused by: ${describeLink(link)}`)
  const ending = CHAIN_ENDS[end]
  if (ending !== undefined) parts.push(ending)
  return parts.join('\n\n')
}

/**
 * One context value on one line: a string as it is, anything else as JSON (a nested object on one
 * line). The context is already bounded and JSON-safe (lib/report-context.ts: no BigInt, no cycle).
 */
function contextValue (value: unknown): string {
  return typeof value === 'string' ? value : String(JSON.stringify(value))
}

/**
 * The plain-text mail body: what happened, the error with its stack and causes, the request (with
 * its trace id when there is one), the report context one field per line, the masked headers (the
 * summary and the context the reporting engine made are already masked by the app's policy). The
 * headings are the mail's own; every line of text that comes from the error, the request or the
 * context is indented, so none of it can look like a heading.
 */
export function formatReportText (report: ErrorReport): string {
  const { request } = report
  const reason = STATUS_CODES[report.status] ?? 'Error'
  const method = inline(request.method)
  const url = inline(request.url)
  const lines = [`${method} ${url} answered ${report.status} ${reason}.`]
  if (report.count > 1) lines.push(`This mail stands for ${report.count} identical errors; the last one is shown, cut to a few KB.`)
  let error = formatError(report.error)
  if (error.length > MAX_ERROR_TEXT) error = `${error.slice(0, MAX_ERROR_TEXT)}\n… (${error.length - MAX_ERROR_TEXT} more characters cut)`
  lines.push('', 'Error', '-----', ...indented(error), '', 'Request', '-------')
  lines.push(
    `Time:       ${report.time.toISOString()}`,
    `Method:     ${method}`,
    `URL:        ${url}`,
    `Route:      ${request.route === undefined ? '(no route matched)' : inline(request.route)}`,
    `Request id: ${inline(request.requestId)}`,
    ...report.traceId === undefined ? [] : [`Trace id:   ${inline(report.traceId)}`],
    `Client IP:  ${inline(request.ip)}`,
    `Status:     ${report.status} ${reason}`,
    `Count:      ${report.count}`
  )
  const context = Object.entries(report.context)
  if (context.length > 0) {
    lines.push('', 'Context (secrets masked)', '------------------------')
    for (const [name, value] of context) lines.push(`${INDENT}${inline(name)}: ${inline(contextValue(value))}`)
  }
  lines.push('', 'Headers (credentials masked)', '----------------------------')
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) lines.push(`${INDENT}${inline(name)}: ${inline(String(item))}`)
  }
  return lines.join('\n') + '\n'
}
