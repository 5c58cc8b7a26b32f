/**
 * Log lines for errors, through the request's pino logger so every line carries the request id (as
 * Flask's `log_exception` writes through `app.logger`). 5xx and values without a status are bugs:
 * `error`, with the thrown value serialised. 4xx are the client's business: `info` by default,
 * configurable per kind of error (lib/log-levels.ts picks the level), with routing 404s on their own
 * level because on a public site they are mostly bots.
 * The request is named by the app's redaction policy: secret query values masked, the URL bounded.
 */
import type { FastifyBaseLogger, FastifyRequest, LogLevel } from 'fastify'
import { describe, isError } from './describe.js'
import type { Redaction } from './redact.js'
import { readValidation } from './validation.js'

/** A pino level name or `'silent'`. */
export type Level = LogLevel | 'silent'

/** The value to put under pino's `err` key: errors as they are, anything else wrapped so it serialises. */
function loggable (thrown: unknown): unknown {
  return isError(thrown) ? withPublicValidation(thrown) : { type: typeof thrown, value: describe(thrown) }
}

/**
 * A validation error as the log line shows it. pino's serializer copies every enumerable member, and
 * Ajv's `verbose: true` details (`data`) hold the validated value itself — for a headers schema every
 * request header, Cookie and Authorization included — so the line gets the details the response
 * carries, over the same error (read through the prototype). Other errors are logged as they are.
 */
function withPublicValidation (error: Error): Error {
  let validation: unknown
  try {
    validation = (error as { validation?: unknown }).validation
  } catch {
    // A throwing getter: pino's serializer throws on it too, and write() logs a plain copy instead.
    return error
  }
  if (validation === undefined) return error
  return Object.create(error, { validation: { value: readValidation(error), enumerable: true } }) as Error
}

/**
 * pino serialises only the `err` key as an error; a second error is spelled out so its stack is
 * kept. Each field is read on its own: a `stack` getter that throws must not cost the message.
 */
function plain (thrown: unknown): unknown {
  if (!isError(thrown)) return loggable(thrown)
  return { type: text(() => thrown.constructor.name), message: text(() => thrown.message), stack: text(() => thrown.stack) }
}

/** A string field read through `read`; what a throwing getter or a non-string gives instead. */
function text (read: () => unknown): string | undefined {
  try {
    const value = read()
    return typeof value === 'string' ? value : undefined
  } catch {
    // The getter (or Proxy trap) threw: say so in the log line instead of failing it.
    return '(unreadable: a getter threw)'
  }
}

/**
 * Writes one line. pino's error serializer tags the error it reads (so a frozen error makes it
 * throw) and copies every enumerable property (so a getter that throws makes it throw): when the
 * thrown value cannot be serialised, the line is written again with a plain copy of it, because a
 * log line must never be what turns a 409 into a 500.
 */
function write (request: FastifyRequest, level: LogLevel, thrown: unknown, fields: Record<string, unknown>, msg: string): void {
  try {
    request.log[level]({ err: loggable(thrown), ...fields }, msg)
  } catch (serializerFailure) {
    request.log[level]({ err: copyForErrKey(thrown), ...fields, logSerializerError: text(() => (serializerFailure as Error).message) }, msg)
  }
}

/**
 * The plain copy, shaped for pino's `err` key: the serializer runs on it again (its message is a
 * string) and takes `type` from the constructor's name ("Object" for a literal), or from `name`
 * when there is no constructor. So the copy has no prototype and carries its type as its name.
 */
function copyForErrKey (thrown: unknown): unknown {
  const copy = plain(thrown) as { type?: unknown }
  return Object.assign(Object.create(null) as object, copy, { name: copy.type })
}

/** The level methods every Fastify logger has (Fastify checks them when it is given one). */
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']

/**
 * Whether `log` writes nothing at `level`. pino says so (`isLevelEnabled`). Fastify's `logger: false`
 * gives abstract-logging's null logger, which has no `isLevelEnabled` and whose every level is one
 * shared no-op function (fastify/lib/logger-factory.js): a logger whose level methods are all the same
 * function cannot tell the levels apart, so it is taken to write nothing. Any other logger writes.
 */
function drops (log: FastifyBaseLogger, level: LogLevel): boolean {
  const enabled = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  if (typeof enabled === 'function') return !enabled.call(log, level)
  const method = log[level]
  for (const other of LEVELS) if (log[other] !== method) return false
  return true
}

/**
 * Logs the error a request is answered for, once, at `level` (lib/log-levels.ts `levelOf`). A
 * routing 404/405 (`routing`) is written without the error, which only repeats its status's class.
 */
export function logError (
  request: FastifyRequest, thrown: unknown, status: number, routing: boolean, level: Level, redaction: Redaction, traceId?: string
): void {
  // Building the line (message, serialised error) costs more than the check: skip it when the logger
  // would drop it anyway (a 404 flood at `info` on a server logging at `warn`, or no logger at all).
  if (level === 'silent' || drops(request.log, level)) return
  const msg = `${redaction.line(request)} answered ${status}`
  // A routing 404/405 is no error of the application's: like Fastify's own "Route … not found" line,
  // it says what was answered and carries no `err` (which would only repeat the status's class).
  const fields = traceId === undefined ? { statusCode: status } : { statusCode: status, traceId }
  if (routing) request.log[level](fields, msg)
  else write(request, level, thrown, fields, msg)
}

/**
 * Logs a failure of the error handling itself (a handler that threw, a template that failed). Like
 * every line of the plugin's, it carries the request's trace id when a span is active: the request id
 * is one process's, the trace id finds the same request in every service's logs.
 */
export function logFailure (
  request: FastifyRequest, failure: unknown, original: unknown, what: string, redaction: Redaction, traceId?: string
): void {
  const fields = traceId === undefined ? { originalError: plain(original) } : { originalError: plain(original), traceId }
  write(request, 'error', failure, fields, `${redaction.line(request)}: ${what}`)
}
