/**
 * Reading a thrown value: its status, code and class chain. Anything can be thrown — `null`, a string, a Proxy whose traps
 * throw, an error whose `statusCode` getter throws — so every read here is guarded: a value we cannot
 * read has no status and becomes a 500, it never breaks the error handler itself.
 */
import { HTTPException } from './exceptions.js'

/** What the dispatcher needs to know about a thrown value. */
export interface ThrownFacts {
  /** The HTTP error status (400–599) the value carries, if any. */
  status: number | undefined
  /** A string `code` (`'FST_ERR_VALIDATION'`, `'ECONNREFUSED'`), if any. */
  code: string | undefined
  /**
   * The string `code` of a foreign error's `cause`, one level down: proxies and HTTP clients wrap the
   * socket error (`@fastify/reply-from` answers a refused upstream with its own 500 whose `cause` is
   * the `ECONNREFUSED` error; Node's `fetch` throws `TypeError('fetch failed')` with it as `cause`).
   * Never read from an HTTPException: its cause is kept for logs and the debug page, and a handler's
   * failure is a 500 whose cause is the error it was handling, which must reach the 500 handler.
   */
  causeCode: string | undefined
  /** The prototype chain, most specific first (lookup phase 1 walks it). */
  prototypes: readonly object[]
  /** The message, when it may be shown to clients (4xx, or an `expose: true` error); else undefined. */
  publicMessage: string | undefined
}

/** Deeper chains than this are not real class hierarchies; stop reading instead of looping. */
const MAX_CHAIN = 32

const NO_FACTS: ThrownFacts = { status: undefined, code: undefined, causeCode: undefined, prototypes: [], publicMessage: undefined }

/** Reads status, code and class chain of any thrown value without ever throwing. */
export function readThrown (value: unknown): ThrownFacts {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return NO_FACTS
  try {
    const prototypes = prototypeChain(value)
    if (value instanceof HTTPException) {
      // `description` is typed string, but JavaScript callers pass anything (`abort(404, { detail })`):
      // only a string may become the message, or the JSON shape breaks and the page cannot render.
      const description = value.expose ? value.description as unknown : undefined
      // `code` is readonly only to TypeScript: JavaScript that sets `e.code = 'E_USER'` (Node's habit)
      // or `e.code = 200` must not make the status a string or a success; `statusCode` is the fallback.
      const status = httpStatus(value.code) ?? httpStatus(value.statusCode)
      const publicMessage = typeof description === 'string' ? description : undefined
      return { status, code: undefined, causeCode: undefined, prototypes, publicMessage }
    }
    const record = value as Record<string, unknown>
    const code = record.code
    const status = httpStatus(record.statusCode) ?? httpStatus(record.status)
    // http-errors' convention: `expose` says whether the message is meant for clients; without it,
    // 4xx messages are shown (Fastify's own shape) and 5xx ones never are.
    const expose = typeof record.expose === 'boolean' ? record.expose : status !== undefined && status < 500
    const message = record.message
    return {
      status,
      code: stringCode(code),
      causeCode: causeCodeOf(record),
      prototypes,
      publicMessage: expose && status !== undefined && typeof message === 'string' ? message : undefined
    }
  } catch {
    // A getter or Proxy trap threw while we read it: the value tells us nothing usable, so it is
    // handled as a value without a status (a 500 whose originalError is the value itself).
    return NO_FACTS
  }
}

/** A non-empty string code, else undefined (a numeric `code` is a status or an errno, not a key). */
function stringCode (code: unknown): string | undefined {
  return typeof code === 'string' && code !== '' ? code : undefined
}

/**
 * The string code of `record.cause`, read in its own guard: a `cause` getter or a cause's `code`
 * getter that throws only means there is no cause code; the error's own status and code still count.
 */
function causeCodeOf (record: Record<string, unknown>): string | undefined {
  try {
    const cause = record.cause
    return typeof cause === 'object' && cause !== null ? stringCode((cause as Record<string, unknown>).code) : undefined
  } catch {
    // A throwing getter or Proxy trap on the cause: it names no code, and the error is read without one.
    return undefined
  }
}

/** `value` if it is an HTTP error status (an integer 400–599), else undefined. */
export function httpStatus (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599 ? value : undefined
}

function prototypeChain (value: object): object[] {
  const chain: object[] = []
  let proto = Object.getPrototypeOf(value) as object | null
  while (proto !== null && proto !== Object.prototype && chain.length < MAX_CHAIN) {
    chain.push(proto)
    proto = Object.getPrototypeOf(proto) as object | null
  }
  return chain
}

/**
 * An error's own headers (ours, or `http-errors`' `Allow` / `Retry-After`), read safely: a getter
 * that throws means none. Only plain objects count; names and values are validated where applied.
 */
export function errorHeaders (value: unknown): Record<string, unknown> | undefined {
  try {
    const headers = (value as { headers?: unknown }).headers
    return isPlainObject(headers) ? headers : undefined
  } catch {
    // A throwing `headers` getter: the error carries no usable headers.
    return undefined
  }
}

/**
 * True for `{}` literals and `Object.create(null)` objects, false for class instances and arrays.
 * Never throws: it reads handler results too, where a revoked Proxy would otherwise escape the
 * dispatcher (an unhandled rejection and a request that never gets an answer).
 */
export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  try {
    const proto = Object.getPrototypeOf(value) as unknown
    return proto === Object.prototype || proto === null
  } catch {
    // A revoked Proxy or a throwing getPrototypeOf trap: not something we can use as a plain object.
    return false
  }
}
