/**
 * A ready reporter that mails unhandled errors to the administrators, the
 * Fastify version of the Flask tutorial's `SMTPHandler` ("Email Errors to
 * Admins" in Flask's logging docs, chapter 7 of the Flask Mega-Tutorial).
 * Shipped as the subpath export `fastify-flask-errors/mail` so that only
 * applications that use it need `nodemailer` (an optional peer dependency).
 */
import { STATUS_CODES } from 'node:http'
import { inspect } from 'node:util'
import createError from '@fastify/error'
import nodemailer, { type Transporter } from 'nodemailer'
import { describeValue, errorClass, reportedFailure, type ErrorReport, type Reporter } from './report.js'

/** SMTP server settings, as nodemailer's SMTP transport takes them. */
export interface SmtpSettings {
  /** Server name or address. */
  host: string
  /** Default 587, or 465 when `secure`. */
  port?: number
  /** Implicit TLS from the first byte (port 465). */
  secure?: boolean
  /** Upgrade with STARTTLS and refuse to send if the server does not offer it. */
  requireTLS?: boolean
  /** Login; omit for a server that takes mail without one. */
  auth?: { user: string, pass: string }
}

/** Options of {@link mailReporter}. */
export interface MailReporterOptions {
  /** A nodemailer transporter you built (pool, SES, a test stream…). Either this or `smtp`. */
  transport?: Transporter
  /** SMTP settings; a transporter is created once, at creation. Either this or `transport`. */
  smtp?: SmtpSettings
  /** Sender address, e.g. `'no-reply@example.com'` or `'"My app" <no-reply@example.com>'`. */
  from: string
  /** Recipients: the administrators. */
  to: string | string[]
  /**
   * A prefix for the generated subject (default `'[error]'`): `[error] 500 Internal Server Error: GET /path`;
   * or a function that returns the whole subject.
   */
  subject?: string | ((report: ErrorReport) => string)
}

/** Options of {@link mailReporterFromEnv} that do not come from the environment. */
export interface MailFromEnvOptions {
  /** Sender; default `MAIL_DEFAULT_SENDER` (Flask-Mail's variable), else `no-reply@<MAIL_SERVER>` as in the Flask tutorial. */
  from?: string
  /** As in {@link MailReporterOptions}. */
  subject?: MailReporterOptions['subject']
}

/** A mail reporter option that is missing or has the wrong type. */
export const FFE_BAD_MAIL_OPTION = createError<[string, string, string]>(
  'FFE_BAD_MAIL_OPTION',
  'mailReporter: %s must be %s, got %s',
  500,
  TypeError
)

/** An environment variable read by `mailReporterFromEnv` has an unusable value. */
export const FFE_BAD_MAIL_ENV = createError<[string, string, string]>(
  'FFE_BAD_MAIL_ENV',
  'mailReporterFromEnv: %s must be %s, got %s',
  500,
  TypeError
)

/** Cause chains are walked this deep at most (they can be cyclic). */
const MAX_CAUSES = 8

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

/** A non-empty string without line breaks (a host name). */
function isHeaderText (value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '' && !/[\r\n]/.test(value)
}

/** Looks like a mail address (`a@b` or `"Name" <a@b>`), on one line; nodemailer does the real parsing. */
function isAddress (value: unknown): value is string {
  return isHeaderText(value) && value.includes('@')
}

/** One line, no control characters: safe to put in a header. */
function oneLine (text: string): string {
  return text.replace(CONTROL, ' ').trim()
}

/** A subject: one line, at most `MAX_SUBJECT` characters. */
function subjectLine (text: string): string {
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
  if (value instanceof Error) {
    const head = typeof value.stack === 'string' && value.stack !== '' ? value.stack : `${errorClass(value)}: ${value.message}`
    const code = (value as { code?: unknown }).code
    return code === undefined ? head : `${head}\n    code: ${inspect(code)}`
  }
  return `${errorClass(value)} thrown (not an Error): ${inspect(value, { depth: 3 })}`
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

/** One error and its `cause` chain as text. */
function formatChain (error: unknown): string {
  const parts = [describeLink(error)]
  const seen = new Set<unknown>([error])
  let current = error
  while (current instanceof Error && current.cause !== undefined) {
    current = current.cause
    if (seen.has(current)) {
      parts.push('Caused by: (the chain loops back to an error shown above)')
      break
    }
    if (seen.size > MAX_CAUSES) {
      parts.push('Caused by: … (chain cut)')
      break
    }
    seen.add(current)
    parts.push(`Caused by: ${describeLink(current)}`)
  }
  return parts.join('\n\n')
}

/**
 * The plain-text mail body: what happened, the error with its stack and causes, the request with
 * masked headers (the summary the reporting engine made is already masked by the app's policy). The
 * headings are the mail's own; every line of text that comes from the error or the request is
 * indented, so none of it can look like a heading.
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
    `Client IP:  ${inline(request.ip)}`,
    `Status:     ${report.status} ${reason}`,
    `Count:      ${report.count}`,
    '',
    'Headers (credentials masked)',
    '----------------------------'
  )
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) lines.push(`${INDENT}${inline(name)}: ${inline(String(item))}`)
  }
  return lines.join('\n') + '\n'
}

/** Checks the recipients and returns them as a list. */
function toRecipients (to: unknown): string[] {
  const expected = 'an address or a non-empty list of addresses'
  if (!Array.isArray(to)) {
    if (!isAddress(to)) throw new FFE_BAD_MAIL_OPTION('to', expected, describeValue(to))
    return [to]
  }
  if (to.length === 0) throw new FFE_BAD_MAIL_OPTION('to', expected, 'an empty list')
  for (const item of to as unknown[]) {
    if (!isAddress(item)) throw new FFE_BAD_MAIL_OPTION('to', expected, `a list containing ${describeValue(item)}`)
  }
  return to
}

/** Checks SMTP settings and builds the transporter. */
function smtpTransport (smtp: unknown): Transporter {
  if (typeof smtp !== 'object' || smtp === null) throw new FFE_BAD_MAIL_OPTION('smtp', 'an object { host, port, secure, requireTLS, auth }', describeValue(smtp))
  const { host, port, secure, requireTLS, auth } = smtp as Record<string, unknown>
  if (!isHeaderText(host)) throw new FFE_BAD_MAIL_OPTION('smtp.host', 'a host name', describeValue(host))
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new FFE_BAD_MAIL_OPTION('smtp.port', 'an integer from 1 to 65535', describeValue(port))
  }
  if (secure !== undefined && typeof secure !== 'boolean') throw new FFE_BAD_MAIL_OPTION('smtp.secure', 'a boolean', describeValue(secure))
  if (requireTLS !== undefined && typeof requireTLS !== 'boolean') throw new FFE_BAD_MAIL_OPTION('smtp.requireTLS', 'a boolean', describeValue(requireTLS))
  if (auth !== undefined) {
    const { user, pass } = (typeof auth === 'object' && auth !== null ? auth : {}) as Record<string, unknown>
    if (typeof user !== 'string' || typeof pass !== 'string') throw new FFE_BAD_MAIL_OPTION('smtp.auth', 'an object { user: string, pass: string }', describeValue(auth))
  }
  return nodemailer.createTransport({
    host,
    port: port as number | undefined,
    secure: secure as boolean | undefined,
    requireTLS: requireTLS as boolean | undefined,
    auth: auth as SmtpSettings['auth'],
    // nodemailer waits up to 2 minutes by default; a reporter is cut off
    // after `reportTimeout` (10 s) anyway, so give up on a dead server sooner.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000
  })
}

/**
 * A reporter that mails each report to the administrators through
 * nodemailer. Options are checked now (`FFE_BAD_MAIL_OPTION`); sending
 * failures reject, and the reporting engine logs them.
 */
export function mailReporter (options: MailReporterOptions): Reporter {
  if (typeof options !== 'object' || options === null) throw new FFE_BAD_MAIL_OPTION('options', 'an object', describeValue(options))
  const { transport, smtp, from, to, subject } = options
  if ((transport === undefined) === (smtp === undefined)) {
    throw new FFE_BAD_MAIL_OPTION('options', 'exactly one of `transport` and `smtp`', transport === undefined ? 'neither' : 'both')
  }
  if (transport !== undefined && (typeof transport !== 'object' || transport === null || typeof (transport as { sendMail?: unknown }).sendMail !== 'function')) {
    throw new FFE_BAD_MAIL_OPTION('transport', 'a nodemailer transporter (with sendMail)', describeValue(transport))
  }
  if (!isAddress(from)) throw new FFE_BAD_MAIL_OPTION('from', 'an address', describeValue(from))
  const recipients = toRecipients(to)
  if (subject !== undefined && typeof subject !== 'string' && typeof subject !== 'function') {
    throw new FFE_BAD_MAIL_OPTION('subject', 'a string prefix or a function (report) => string', describeValue(subject))
  }
  const transporter = transport ?? smtpTransport(smtp)
  const makeSubject = typeof subject === 'function'
    ? (report: ErrorReport) => subjectLine(String(subject(report)))
    : (report: ErrorReport) => defaultSubject(report, subject)

  return async function mail (report: ErrorReport): Promise<void> {
    await transporter.sendMail({
      from,
      to: recipients,
      subject: makeSubject(report),
      text: formatReportText(report)
    })
  }
}

/** Reads a yes/no environment variable. */
function envFlag (env: Record<string, string | undefined>, name: string): boolean {
  const value = (env[name] ?? '').trim().toLowerCase()
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false
  if (['1', 'true', 'yes', 'on'].includes(value)) return true
  throw new FFE_BAD_MAIL_ENV(name, 'one of 1/true/yes/on or 0/false/no/off', describeValue(env[name]))
}

/**
 * SMTP settings from `MAIL_SERVER`, `MAIL_PORT` (default 25),
 * `MAIL_USE_TLS`, `MAIL_USE_SSL`, `MAIL_USERNAME`, `MAIL_PASSWORD`; null when
 * `MAIL_SERVER` is unset or empty. `MAIL_USE_TLS` means STARTTLS, required
 * (port 465: implicit TLS); `MAIL_USE_SSL` means implicit TLS on any port.
 * Both are read as words: `0`/`false`/`no`/`off` is off, as Flask-Mail's
 * booleans (the Flask Mega-Tutorial reads any value, `0` included, as on).
 */
export function smtpSettingsFromEnv (env: Record<string, string | undefined> = process.env): SmtpSettings | null {
  const host = (env.MAIL_SERVER ?? '').trim()
  if (host === '') return null
  const portText = (env.MAIL_PORT ?? '').trim() || '25'
  const port = Number(portText)
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new FFE_BAD_MAIL_ENV('MAIL_PORT', 'a port number from 1 to 65535', describeValue(env.MAIL_PORT))
  }
  // The Flask tutorial passes `secure=()` to SMTPHandler when MAIL_USE_TLS is
  // set: STARTTLS on a plain connection. nodemailer's `requireTLS` is that,
  // and refuses to send in clear when the server does not offer it.
  // Port 465 speaks TLS from the first byte instead.
  const tls = envFlag(env, 'MAIL_USE_TLS')
  // Flask-Mail's MAIL_USE_SSL: smtplib.SMTP_SSL, TLS from the first byte (nodemailer's `secure`).
  const ssl = envFlag(env, 'MAIL_USE_SSL')
  if (tls && ssl) throw new FFE_BAD_MAIL_ENV('MAIL_USE_TLS and MAIL_USE_SSL', 'set one at most (MAIL_USE_TLS: STARTTLS on a plain connection; MAIL_USE_SSL: TLS from the first byte, usually port 465)', 'both')
  const settings: SmtpSettings = { host, port, secure: ssl || (tls && port === 465), requireTLS: tls && port !== 465 }
  const user = env.MAIL_USERNAME ?? ''
  const pass = env.MAIL_PASSWORD ?? ''
  if ((user === '') !== (pass === '')) {
    throw new FFE_BAD_MAIL_ENV(user === '' ? 'MAIL_USERNAME' : 'MAIL_PASSWORD', `set together with ${user === '' ? 'MAIL_PASSWORD' : 'MAIL_USERNAME'}`, 'nothing')
  }
  if (user !== '') settings.auth = { user, pass }
  return settings
}

/**
 * The Flask tutorial's mail setup from the environment: `MAIL_SERVER`,
 * `MAIL_PORT`, `MAIL_USE_TLS`, `MAIL_USE_SSL`, `MAIL_USERNAME`,
 * `MAIL_PASSWORD`, `MAIL_DEFAULT_SENDER` and `ADMINS` (comma-separated
 * recipients). Returns null when `MAIL_SERVER` is not set, so
 * `report: mailReporterFromEnv()` is simply off in development. `options`
 * sets what the environment does not: `from` (wins over
 * `MAIL_DEFAULT_SENDER`) and `subject`.
 */
export function mailReporterFromEnv (env: Record<string, string | undefined> = process.env, options: MailFromEnvOptions = {}): Reporter | null {
  const smtp = smtpSettingsFromEnv(env)
  if (smtp === null) return null
  const admins = (env.ADMINS ?? '').split(',').map((address) => address.trim()).filter((address) => address !== '')
  if (admins.length === 0) throw new FFE_BAD_MAIL_ENV('ADMINS', 'a comma-separated list of addresses when MAIL_SERVER is set', describeValue(env.ADMINS))
  return mailReporter({
    smtp,
    from: options.from ?? ((env.MAIL_DEFAULT_SENDER ?? '').trim() || `no-reply@${smtp.host}`),
    to: admins,
    subject: options.subject
  })
}
