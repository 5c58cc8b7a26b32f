/**
 * A ready reporter that mails unhandled errors to the administrators, the Fastify version of the
 * Flask tutorial's `SMTPHandler` ("Email Errors to Admins" in Flask's logging docs, chapter 7 of the
 * Flask Mega-Tutorial): its options and transport, and the setup from the environment. What a mail
 * says is lib/mail-text.ts. Applications get it through the `fastify-flask-errors/mail` subpath
 * (lib/mail-entry.ts), so that only those that use it need `nodemailer` (an optional peer dependency).
 */
import nodemailer, { type Transporter } from 'nodemailer'
import { shown } from './describe.js'
import { FFE_BAD_MAIL_ENV, FFE_BAD_MAIL_OPTION } from './errors.js'
import { defaultSubject, formatReportText, subjectLine } from './mail-text.js'
import type { ErrorReport, Reporter } from './report.js'

// The mail reporter's own errors (not plugin options) live with the others in lib/errors.ts; the
// subpath entry exports them from here, beside what raises them.
export { FFE_BAD_MAIL_ENV, FFE_BAD_MAIL_OPTION }

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

/** A non-empty string without line breaks (a host name). */
function isHeaderText (value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '' && !/[\r\n]/.test(value)
}

/** Looks like a mail address (`a@b` or `"Name" <a@b>`), on one line; nodemailer does the real parsing. */
function isAddress (value: unknown): value is string {
  return isHeaderText(value) && value.includes('@')
}

/** Checks the recipients and returns them as a list. */
function toRecipients (to: unknown): string[] {
  const expected = 'an address or a non-empty list of addresses'
  if (!Array.isArray(to)) {
    if (!isAddress(to)) throw new FFE_BAD_MAIL_OPTION('to', expected, shown(to))
    return [to]
  }
  if (to.length === 0) throw new FFE_BAD_MAIL_OPTION('to', expected, 'an empty list')
  for (const item of to as unknown[]) {
    if (!isAddress(item)) throw new FFE_BAD_MAIL_OPTION('to', expected, `a list containing ${shown(item)}`)
  }
  return to
}

/** Checks SMTP settings and builds the transporter. */
function smtpTransport (smtp: unknown): Transporter {
  if (typeof smtp !== 'object' || smtp === null) {
    throw new FFE_BAD_MAIL_OPTION('smtp', 'an object { host, port, secure, requireTLS, auth }', shown(smtp))
  }
  const { host, port, secure, requireTLS, auth } = smtp as Record<string, unknown>
  if (!isHeaderText(host)) throw new FFE_BAD_MAIL_OPTION('smtp.host', 'a host name', shown(host))
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new FFE_BAD_MAIL_OPTION('smtp.port', 'an integer from 1 to 65535', shown(port))
  }
  if (secure !== undefined && typeof secure !== 'boolean') throw new FFE_BAD_MAIL_OPTION('smtp.secure', 'a boolean', shown(secure))
  if (requireTLS !== undefined && typeof requireTLS !== 'boolean') {
    throw new FFE_BAD_MAIL_OPTION('smtp.requireTLS', 'a boolean', shown(requireTLS))
  }
  if (auth !== undefined) {
    const { user, pass } = (typeof auth === 'object' && auth !== null ? auth : {}) as Record<string, unknown>
    if (typeof user !== 'string' || typeof pass !== 'string') {
      const kind = auth === null ? 'null' : typeof auth
      throw new FFE_BAD_MAIL_OPTION('smtp.auth', 'an object { user: string, pass: string }',
        `${kind} (not shown: it may hold the password)`)
    }
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
  if (typeof options !== 'object' || options === null) throw new FFE_BAD_MAIL_OPTION('options', 'an object', shown(options))
  const { transport, smtp, from, to, subject } = options
  if ((transport === undefined) === (smtp === undefined)) {
    throw new FFE_BAD_MAIL_OPTION('options', 'exactly one of `transport` and `smtp`', transport === undefined ? 'neither' : 'both')
  }
  const sendMail: unknown = typeof transport === 'object' && transport !== null ? (transport as { sendMail?: unknown }).sendMail : undefined
  const isTransporter = typeof sendMail === 'function'
  if (transport !== undefined && !isTransporter) {
    throw new FFE_BAD_MAIL_OPTION('transport', 'a nodemailer transporter (with sendMail)', shown(transport))
  }
  if (!isAddress(from)) throw new FFE_BAD_MAIL_OPTION('from', 'an address', shown(from))
  const recipients = toRecipients(to)
  if (subject !== undefined && typeof subject !== 'string' && typeof subject !== 'function') {
    throw new FFE_BAD_MAIL_OPTION('subject', 'a string prefix or a function (report) => string', shown(subject))
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
  throw new FFE_BAD_MAIL_ENV(name, 'one of 1/true/yes/on or 0/false/no/off', shown(env[name]))
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
    throw new FFE_BAD_MAIL_ENV('MAIL_PORT', 'a port number from 1 to 65535', shown(env.MAIL_PORT))
  }
  // The Flask tutorial passes `secure=()` to SMTPHandler when MAIL_USE_TLS is
  // set: STARTTLS on a plain connection. nodemailer's `requireTLS` is that,
  // and refuses to send in clear when the server does not offer it.
  // Port 465 speaks TLS from the first byte instead.
  const tls = envFlag(env, 'MAIL_USE_TLS')
  // Flask-Mail's MAIL_USE_SSL: smtplib.SMTP_SSL, TLS from the first byte (nodemailer's `secure`).
  const ssl = envFlag(env, 'MAIL_USE_SSL')
  if (tls && ssl) {
    throw new FFE_BAD_MAIL_ENV('MAIL_USE_TLS and MAIL_USE_SSL',
      'set one at most (MAIL_USE_TLS: STARTTLS on a plain connection; MAIL_USE_SSL: TLS from the first byte, usually port 465)', 'both')
  }
  const settings: SmtpSettings = { host, port, secure: ssl || (tls && port === 465), requireTLS: tls && port !== 465 }
  const user = env.MAIL_USERNAME ?? ''
  const pass = env.MAIL_PASSWORD ?? ''
  if ((user === '') !== (pass === '')) {
    const [missing, given] = user === '' ? ['MAIL_USERNAME', 'MAIL_PASSWORD'] : ['MAIL_PASSWORD', 'MAIL_USERNAME']
    throw new FFE_BAD_MAIL_ENV(missing, `set together with ${given}`, 'nothing')
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
export function mailReporterFromEnv (
  env: Record<string, string | undefined> = process.env,
  options: MailFromEnvOptions = {}
): Reporter | null {
  const smtp = smtpSettingsFromEnv(env)
  if (smtp === null) return null
  const admins = (env.ADMINS ?? '').split(',').map((address) => address.trim()).filter((address) => address !== '')
  if (admins.length === 0) {
    throw new FFE_BAD_MAIL_ENV('ADMINS', 'a comma-separated list of addresses when MAIL_SERVER is set', shown(env.ADMINS))
  }
  return mailReporter({
    smtp,
    from: options.from ?? ((env.MAIL_DEFAULT_SENDER ?? '').trim() || `no-reply@${smtp.host}`),
    to: admins,
    subject: options.subject
  })
}
