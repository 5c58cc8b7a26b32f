/**
 * Werkzeug-style HTTP exceptions: one class per registered 4xx/5xx status, and `abort`.
 *
 * Shape follows `werkzeug.exceptions`: `code` is the status number, `name` the reason phrase,
 * `description` the human text. `statusCode` carries the same number because that is the field
 * Fastify, `http-errors` and `@fastify/sensible` read, so our errors flow through any of them.
 */
import { STATUS_CODES } from 'node:http'

/** Header values an error may carry (strings, numbers, or lists for repeatable headers). */
export type ErrorHeaders = Record<string, string | number | readonly string[]>

/**
 * Options every HTTP exception constructor takes. Any other field is copied onto the error, which is
 * how an application attaches a payload (the Flask docs' `InvalidAPIUsage(message, payload=…)`).
 */
export interface HTTPExceptionOptions {
  /** Extra response headers, e.g. `{ 'Retry-After': 120 }`. */
  headers?: ErrorHeaders
  /** The error that caused this one (ES2022 `cause`). */
  cause?: unknown
  [field: string]: unknown
}

/** The options of `new NotFound()` and `abort(404)`: nothing to copy. */
const NO_OPTIONS: HTTPExceptionOptions = Object.freeze({})

/** Fields an option bag may not overwrite: they are the exception's identity (and `String(e)`). */
const RESERVED_FIELDS = new Set(['code', 'statusCode', 'status', 'name', 'description', 'message', 'stack', 'expose', 'toString'])

/**
 * Base class of every HTTP error, as `werkzeug.exceptions.HTTPException`.
 *
 * A status with no class of ours is a subclass that declares it:
 * @example
 * class SiteFrozen extends HTTPException {
 *   static override code = 599
 *   static override description = 'The site is frozen for maintenance.'
 * }
 * throw new SiteFrozen()            // code 599, String(e) === '599 Unknown Error: The site is frozen…'
 */
export class HTTPException extends Error {
  /** The status this class answers with. A bare `HTTPException` is a 500. */
  static code: number = 500
  /** The default human text for this class. */
  static description: string = 'The server could not complete the request.'
  /** Reason phrase override; by default the IANA phrase of `code` (Node's `STATUS_CODES`). */
  static reason: string | undefined = undefined

  // Fields are `declare`d and set once in the constructor: a class field would first be defined as
  // undefined on every instance, then assigned (two stores each, on every `abort`).
  /** The status number, as Werkzeug's `code`. */
  declare readonly code: number
  /** The status number, as Fastify and `http-errors` read it. */
  declare readonly statusCode: number
  /** The reason phrase, e.g. `"Not Found"` (Werkzeug's `name`). */
  declare name: string
  /** Human text; also the `message`. */
  declare description: string
  /** Headers the response carries (`Allow`, `Retry-After`, …). */
  declare headers: ErrorHeaders
  /**
   * Whether the description may be shown to clients. True for 4xx; for 5xx only when the application
   * wrote the description itself (`abort(503, 'Back at 5pm')`), never for a class default that wraps
   * a crash. Same convention as `http-errors`' `expose`.
   */
  declare readonly expose: boolean

  constructor (description?: string, options: HTTPExceptionOptions = NO_OPTIONS) {
    const ctor = new.target as typeof HTTPException
    // Checked before the stack limit is lowered: a bad subclass must not leave it at 0 for the process.
    const code = checkedCode(ctor)
    const text = description ?? ctor.description
    // Made without a stack: an `abort(404)` is control flow, not a bug, and capturing the stack is most
    // of the cost of making an error. No exception knows its app here; `reply.abort` does, and in a
    // context in debug mode it gives the exception the stack of its call (lib/debug.ts).
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(text, options.cause === undefined ? undefined : { cause: options.cause })
    } finally {
      Error.stackTraceLimit = limit
    }
    this.code = code
    this.statusCode = code
    this.name = ctor.reason ?? STATUS_CODES[code] ?? 'Unknown Error'
    this.description = text
    this.expose = code < 500 || description !== undefined
    this.headers = options.headers === undefined ? {} : { ...options.headers }
    if (options !== NO_OPTIONS) copyExtraFields(this, options)
  }

  /** `"404 Not Found: <description>"`, as Werkzeug's `str(e)`. */
  override toString (): string {
    return `${this.code} ${this.name}: ${this.description}`
  }
}

function checkedCode (ctor: typeof HTTPException): number {
  const code = ctor.code
  if (!Number.isInteger(code) || code < 400 || code > 599) {
    throw new TypeError(`${ctor.name} declares static code ${String(code)}: an HTTP error class needs an integer status from 400 to 599`)
  }
  return code
}

function copyExtraFields (target: HTTPException, options: HTTPExceptionOptions): void {
  for (const key of Object.keys(options)) {
    if (key === 'headers' || key === 'cause' || HANDLED_OPTIONS.has(key)) continue
    if (RESERVED_FIELDS.has(key)) {
      throw new TypeError(`option "${key}" would overwrite the exception's own ${key}; pass it under another name`)
    }
    // Defined, not assigned: a `__proto__` key (a parsed JSON payload) becomes a field, not a new prototype.
    Object.defineProperty(target, key, { value: options[key], enumerable: true, writable: true, configurable: true })
  }
}

/** Options that a class turns into headers itself; not copied as fields. */
const HANDLED_OPTIONS = new Set(['wwwAuthenticate', 'retryAfter', 'length', 'units'])

/** 400: the request is malformed. */
export class BadRequest extends HTTPException {
  static override code = 400
  static override description = 'The request could not be understood by the server.'
}

/** Options of {@link Unauthorized}. */
export interface UnauthorizedOptions extends HTTPExceptionOptions {
  /** Challenge(s) for the `WWW-Authenticate` header (RFC 9110 §11.6.1), e.g. `'Basic realm="admin"'`. */
  wwwAuthenticate?: string | readonly string[]
}

/** 401: credentials are missing or wrong. Sets `WWW-Authenticate` from `wwwAuthenticate`. */
export class Unauthorized extends HTTPException {
  static override code = 401
  static override description = 'You need to sign in to see this.'
  constructor (description?: string, options: UnauthorizedOptions = {}) {
    super(description, options)
    if (options.wwwAuthenticate !== undefined) this.headers['WWW-Authenticate'] = options.wwwAuthenticate
  }
}

/** 402: reserved for payment. */
export class PaymentRequired extends HTTPException {
  static override code = 402
  static override description = 'Payment is required to continue.'
}

/** 403: authenticated but not allowed. */
export class Forbidden extends HTTPException {
  static override code = 403
  static override description = 'You are not allowed to access this.'
}

/** 404: nothing at this URL. */
export class NotFound extends HTTPException {
  static override code = 404
  static override description = 'Nothing was found at this address.'
}

/** Options of {@link MethodNotAllowed}. */
export interface MethodNotAllowedOptions extends HTTPExceptionOptions {
  /** The methods the URL does serve; they become the `Allow` header (RFC 9110 §15.5.6 requires it). */
  validMethods?: readonly string[]
}

/** 405: the URL exists, under other methods. Sets `Allow` from `validMethods`. */
export class MethodNotAllowed extends HTTPException {
  static override code = 405
  static override description = 'This method is not allowed for this address.'
  /** The methods this URL serves. */
  declare readonly validMethods: readonly string[]
  constructor (description?: string, options: MethodNotAllowedOptions = {}) {
    super(description, options)
    this.validMethods = options.validMethods ?? []
    if (options.validMethods !== undefined) this.headers.Allow = options.validMethods.join(', ')
  }
}

/** 406: no representation matches the Accept headers. */
export class NotAcceptable extends HTTPException {
  static override code = 406
  static override description = 'No representation of this resource matches what the client accepts.'
}

/** 407: the proxy wants credentials. */
export class ProxyAuthenticationRequired extends HTTPException {
  static override code = 407
  static override description = 'The proxy needs you to sign in first.'
}

/** 408: the client was too slow. */
export class RequestTimeout extends HTTPException {
  static override code = 408
  static override description = 'The server gave up waiting for the request.'
}

/** 409: the request conflicts with the resource's state. */
export class Conflict extends HTTPException {
  static override code = 409
  static override description = 'The request conflicts with the current state of the resource.'
}

/** 410: it was here, and is gone for good. */
export class Gone extends HTTPException {
  static override code = 410
  static override description = 'This resource is gone and will not come back.'
}

/** 411: a body without `Content-Length`. */
export class LengthRequired extends HTTPException {
  static override code = 411
  static override description = 'The request needs a Content-Length header.'
}

/** 412: a conditional header did not hold. */
export class PreconditionFailed extends HTTPException {
  static override code = 412
  static override description = 'A precondition of the request did not hold.'
}

/** 413: the body is too large. */
export class RequestEntityTooLarge extends HTTPException {
  static override code = 413
  static override description = 'The request body is larger than the server accepts.'
}

/** 414: the URL is too long. */
export class RequestURITooLarge extends HTTPException {
  static override code = 414
  static override description = 'The address is longer than the server accepts.'
}

/** 415: the body's media type is not supported. */
export class UnsupportedMediaType extends HTTPException {
  static override code = 415
  static override description = 'The server does not accept this media type.'
}

/** Options of {@link RequestedRangeNotSatisfiable}. */
export interface RangeNotSatisfiableOptions extends HTTPExceptionOptions {
  /** The representation's full length; sets `Content-Range: <units> *\/<length>` (RFC 9110 §14.4). */
  length?: number
  /** Range units, `bytes` by default. */
  units?: string
}

/** 416: the requested range lies outside the resource. Sets `Content-Range` from `length`. */
export class RequestedRangeNotSatisfiable extends HTTPException {
  static override code = 416
  static override description = 'The requested range cannot be served.'
  constructor (description?: string, options: RangeNotSatisfiableOptions = {}) {
    super(description, options)
    if (options.length !== undefined) this.headers['Content-Range'] = `${options.units ?? 'bytes'} */${completeLength(options.length)}`
  }
}

/** RFC 9110 §14.4: complete-length is 1*DIGIT; anything else would send "bytes *\/NaN". */
function completeLength (length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    const got = `${typeof length} ${String(length)}`
    throw new TypeError(`length must be a non-negative integer (the representation's size in units), got ${got}`)
  }
  return length
}

/** 417: the `Expect` header cannot be met. */
export class ExpectationFailed extends HTTPException {
  static override code = 417
  static override description = 'The server cannot meet the Expect header.'
}

/** 418: RFC 2324, kept because Werkzeug keeps it. */
export class ImATeapot extends HTTPException {
  static override code = 418
  static override description = 'The server is a teapot and will not brew coffee.'
}

/** 421: the request reached a server that cannot answer for this origin. */
export class MisdirectedRequest extends HTTPException {
  static override code = 421
  static override description = 'This server cannot answer for this address.'
}

/** 422: well-formed, but semantically wrong. */
export class UnprocessableEntity extends HTTPException {
  static override code = 422
  static override description = 'The request was well-formed but could not be processed.'
}

/** 423: the resource is locked (WebDAV). */
export class Locked extends HTTPException {
  static override code = 423
  static override description = 'The resource is locked.'
}

/** 424: an earlier request this one depends on failed (WebDAV). */
export class FailedDependency extends HTTPException {
  static override code = 424
  static override description = 'A request this one depends on failed.'
}

/** 425: the server will not risk replaying early data (RFC 8470). */
export class TooEarly extends HTTPException {
  static override code = 425
  static override description = 'The server will not process a request that might be replayed.'
}

/** 426: switch protocols first. */
export class UpgradeRequired extends HTTPException {
  static override code = 426
  static override description = 'The client must switch to another protocol.'
}

/** 428: the request must be conditional (RFC 6585). */
export class PreconditionRequired extends HTTPException {
  static override code = 428
  static override description = 'This request must be conditional.'
}

/** Options of {@link TooManyRequests} and {@link ServiceUnavailable}. */
export interface RetryAfterOptions extends HTTPExceptionOptions {
  /** Seconds to wait, or the date to retry at; sets `Retry-After` (RFC 9110 §10.2.3). */
  retryAfter?: number | Date
}

/**
 * Base of the statuses whose response may say when to come back, 429 and 503 (RFC 9110 §10.2.3 names
 * both), as Werkzeug's `_RetryAfter`: sets `Retry-After` from `retryAfter`. Not a status of its own: a
 * handler keyed by this class handles both. Seconds go out rounded up (negatives as 0), a `Date` as an
 * HTTP date; NaN, Infinity or an invalid Date would go out as "NaN" / "Invalid Date" and are refused.
 */
export abstract class RetryAfter extends HTTPException {
  constructor (description?: string, options: RetryAfterOptions = {}) {
    super(description, options)
    const value = options.retryAfter
    if (value === undefined) return
    if (value instanceof Date ? Number.isNaN(value.getTime()) : !Number.isFinite(value)) {
      throw new TypeError(`retryAfter must be a finite number of seconds or a valid Date, got ${typeof value} ${String(value)}`)
    }
    this.headers['Retry-After'] = value instanceof Date ? value.toUTCString() : String(Math.max(0, Math.ceil(value)))
  }
}

/** 429: rate limited (RFC 6585). Sets `Retry-After` from `retryAfter`. */
export class TooManyRequests extends RetryAfter {
  static override code = 429
  static override description = 'Too many requests; slow down.'
}

/** 431: the headers are too large (RFC 6585). */
export class RequestHeaderFieldsTooLarge extends HTTPException {
  static override code = 431
  static override description = 'The request headers are too large.'
}

/** 451: unavailable for legal reasons (RFC 7725). */
export class UnavailableForLegalReasons extends HTTPException {
  static override code = 451
  static override description = 'This resource is unavailable for legal reasons.'
}

/** Options of {@link InternalServerError}. */
export interface InternalServerErrorOptions extends HTTPExceptionOptions {
  /** Whatever was thrown and not handled: an `Error`, a string, `null`… */
  originalError?: unknown
}

/**
 * 500: a bug. Carries `originalError`, the value that was thrown and not handled, as Flask 2's
 * `InternalServerError.original_exception`. Its description is never the original's message.
 */
export class InternalServerError extends HTTPException {
  static override code = 500
  static override description = 'Something went wrong on our side.'
  /** The unhandled value this 500 stands for, if any. */
  declare originalError: unknown
  constructor (description?: string, options: InternalServerErrorOptions = {}) {
    super(description, options)
    this.originalError = options.originalError
  }
}

/** 501: the server does not support this. */
export class NotImplemented extends HTTPException {
  static override code = 501
  static override description = 'The server does not support this yet.'
}

/** 502: the upstream answered badly. */
export class BadGateway extends HTTPException {
  static override code = 502
  static override description = 'An upstream server sent an invalid response.'
}

/** 503: down for now. Sets `Retry-After` from `retryAfter`. */
export class ServiceUnavailable extends RetryAfter {
  static override code = 503
  static override description = 'The service is unavailable right now; try again later.'
}

/** 504: the upstream did not answer in time. */
export class GatewayTimeout extends HTTPException {
  static override code = 504
  static override description = 'An upstream server did not answer in time.'
}

/** 505: this HTTP version is not supported. */
export class HTTPVersionNotSupported extends HTTPException {
  static override code = 505
  static override description = 'This HTTP version is not supported.'
}

/** 506: content negotiation loops (RFC 2295). */
export class VariantAlsoNegotiates extends HTTPException {
  static override code = 506
  static override description = 'The server is misconfigured: a variant negotiates again.'
}

/** 507: no space left to store the representation (WebDAV). */
export class InsufficientStorage extends HTTPException {
  static override code = 507
  static override description = 'The server has no room to complete the request.'
}

/** 508: an infinite loop was detected (WebDAV). */
export class LoopDetected extends HTTPException {
  static override code = 508
  static override description = 'The server found an endless loop while processing the request.'
}

/** 510: further extensions are required (RFC 2774, historic). */
export class NotExtended extends HTTPException {
  static override code = 510
  static override description = 'The request needs further extensions.'
}

/** 511: sign in to the network first (RFC 6585, captive portals). */
export class NetworkAuthenticationRequired extends HTTPException {
  static override code = 511
  static override description = 'You must sign in to the network first.'
}

/** The IANA name of 416 (RFC 9110); Werkzeug calls it `RequestedRangeNotSatisfiable`. */
export const RangeNotSatisfiable = RequestedRangeNotSatisfiable
/** The IANA name of 413 (RFC 9110). */
export const ContentTooLarge = RequestEntityTooLarge
/** The IANA name of 414 (RFC 9110). */
export const URITooLong = RequestURITooLarge

const ALL_CLASSES: ReadonlyArray<typeof HTTPException> = [
  BadRequest, Unauthorized, PaymentRequired, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
  ProxyAuthenticationRequired, RequestTimeout, Conflict, Gone, LengthRequired, PreconditionFailed,
  RequestEntityTooLarge, RequestURITooLarge, UnsupportedMediaType, RequestedRangeNotSatisfiable,
  ExpectationFailed, ImATeapot, MisdirectedRequest, UnprocessableEntity, Locked, FailedDependency,
  TooEarly, UpgradeRequired, PreconditionRequired, TooManyRequests, RequestHeaderFieldsTooLarge,
  UnavailableForLegalReasons, InternalServerError, NotImplemented, BadGateway, ServiceUnavailable,
  GatewayTimeout, HTTPVersionNotSupported, VariantAlsoNegotiates, InsufficientStorage, LoopDetected,
  NotExtended, NetworkAuthenticationRequired
]

/** Status number → our class for it. Read-only: the table Werkzeug calls `default_exceptions`. */
export const statusClasses: ReadonlyMap<number, typeof HTTPException> = new Map(ALL_CLASSES.map((cls) => [cls.code, cls]))

/** Our own status classes: a handler keyed by one of them is a status handler (lookup phase 3). */
export function isStatusClass (value: unknown): value is typeof HTTPException {
  return typeof value === 'function' && statusClasses.get((value as typeof HTTPException).code) === value
}

/** Options `abort` passes to the class of the status. */
export type AbortOptions =
  HTTPExceptionOptions & MethodNotAllowedOptions & UnauthorizedOptions & RetryAfterOptions & RangeNotSatisfiableOptions

/**
 * Throws the HTTP exception for `status`, as Flask's `abort`. A status without a class (2xx, 3xx,
 * 99, 600, 599) is a programming error: a `TypeError` that names the fix.
 *
 * @example
 * app.get('/cheese', () => abort(404, 'Resource not found'))
 * app.get('/admin', () => abort(401, undefined, { wwwAuthenticate: 'Basic realm="admin"' }))
 */
export function abort (status: number | HTTPExceptionClass, description?: string, options?: AbortOptions): never {
  const ErrorClass = typeof status === 'function'
    ? (status.prototype instanceof HTTPException ? status : undefined)
    : statusClasses.get(status)
  if (ErrorClass === undefined) {
    const shown = typeof status === 'function'
      ? status.name
      : typeof status === 'string' ? `"${status}" (a string: pass the number)` : String(status)
    throw new TypeError(`no HTTP error class for status ${shown}: abort takes a 4xx/5xx status that has a class, ` +
      'or an HTTPException subclass (class X extends HTTPException { static code = 599 })')
  }
  throw new ErrorClass(description, options)
}

/** A constructor of HTTP exceptions: one of ours or an application's subclass. */
export type HTTPExceptionClass = new (description?: string, options?: AbortOptions) => HTTPException
