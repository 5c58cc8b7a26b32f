/**
 * Log lines for errors (DESIGN §8), through the request's pino logger so every line carries the
 * request id. 5xx and values without a status are bugs: `error`, with the thrown value serialised.
 * 4xx are the client's business: `info` by default, configurable, with routing 404s on their own
 * level because on a public site they are mostly bots.
 */
import type { FastifyRequest, LogLevel } from 'fastify'

/** A pino level name or `'silent'`. */
export type Level = LogLevel | 'silent'

/** The levels that decide where a client error is logged. */
export interface LogLevels {
  /** Level for 4xx responses. */
  readonly logLevel: Level
  /** Level for routing 404/405 (unknown URLs, wrong methods). */
  readonly notFoundLogLevel: Level
}

/** The value to put under pino's `err` key: errors as they are, anything else wrapped so it serialises. */
function loggable (thrown: unknown): unknown {
  return thrown instanceof Error ? thrown : { type: typeof thrown, value: describe(thrown) }
}

/** pino serialises only the `err` key as an error; a second error is spelled out so its stack is kept. */
function plain (thrown: unknown): unknown {
  if (!(thrown instanceof Error)) return loggable(thrown)
  return { type: thrown.constructor.name, message: thrown.message, stack: thrown.stack }
}

/** A short, never-throwing description of any thrown value, for log lines and error messages. */
export function describe (value: unknown): string {
  try {
    if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)
    if (typeof value === 'function') return `function ${value.name}`
    if (typeof value !== 'object' || value === null) return String(value)
    if (Array.isArray(value)) return `array(${value.length})`
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === 'string' && name !== '' ? `${name} object` : 'object'
  } catch {
    // Symbols and hostile proxies cannot always be printed; say so rather than fail the log line.
    return 'an unprintable value'
  }
}

/** Logs the error a request is answered for, once, at the level its status calls for. */
export function logError (request: FastifyRequest, thrown: unknown, status: number, routing: boolean, levels: LogLevels): void {
  const level: Level = status >= 500 ? 'error' : routing ? levels.notFoundLogLevel : levels.logLevel
  if (level === 'silent') return
  request.log[level]({ err: loggable(thrown), statusCode: status }, `${request.method} ${request.url} answered ${status}`)
}

/** Logs a failure of the error handling itself (a handler that threw, a template that failed). */
export function logFailure (request: FastifyRequest, failure: unknown, original: unknown, what: string): void {
  request.log.error({ err: loggable(failure), originalError: plain(original) }, `${request.method} ${request.url}: ${what}`)
}
