/**
 * RFC 9457 problem details: the `application/problem+json` body of a default JSON response in a
 * context with `problemDetails: true`.
 *
 * Members (RFC 9457 §3.1): `type` (default `about:blank`), `title` (the reason phrase, as §4.2.1 asks
 * for `about:blank`), `status`, `detail` (the public message: 5xx ones stay hidden), `instance` (the
 * request path). Extension members (§3.2): the error's own members (its `toProblem()` result or its
 * `payload`), then the plugin's: `code`, `requestId`, `traceId` (when a span is active), and for validation errors `errors` (one entry
 * per failure with a JSON pointer, §3's example shape), `validation` and `validationContext`.
 *
 * An error supplies its problem type and members by convention, read without ever throwing:
 * - `type`: a URI as an instance field or a static class field (see `isSafeProblemUri` for which);
 *   a bare word named `type` (raw-body's `'entity.too.large'`) is not meant as a URI and is not used;
 *   a refused URI (`javascript:…`) is not used either, with a warning in the request log;
 * - `toProblem()`: a method returning a plain object of members; it may set `type`, `title`,
 *   `detail` and `instance` too (never `status`, which is always the response's); `type` and
 *   `instance` only as URIs `isSafeProblemUri` accepts;
 * - else `payload`: a plain object of members, as the Flask docs' `InvalidAPIUsage` carries.
 */
import type { FastifyBaseLogger } from 'fastify'
import { describe } from './describe.js'
import type { ErrorView } from './pages.js'
import { isPlainObject } from './thrown.js'

/**
 * The content type of a problem details body (RFC 9457 §6.1). The media type defines no parameters,
 * but Fastify appends `charset=utf-8` to every JSON type it sends as a string; saying it here keeps
 * the header the same as Fastify's own JSON and spares Fastify parsing it.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/** The problem type when the error names none (RFC 9457 §4.2.1): the status says it all. */
export const BLANK_TYPE = 'about:blank'

/** One validation failure in a problem body's `errors` member. */
export interface ProblemFieldError {
  /**
   * Where the failure is: a JSON pointer (RFC 6901) in URI fragment form into the request as
   * `{ body, querystring, params, headers }`, e.g. `#/body/name`, `#/querystring/page`.
   */
  pointer: string
  /** What is wrong there, e.g. `must have required property 'name'`. */
  detail: string
  /** The JSON Schema keyword that failed (`required`, `type`, `minimum`, …), when known. */
  keyword?: string
}

/** A problem details object as the plugin sends it. */
export interface ProblemDetails {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  /** Extension members. */
  [member: string]: unknown
}

/** The logger a warning about an error's unusable problem members goes to. */
export type WarnLogger = Pick<FastifyBaseLogger, 'warn'>

/** Members the error may set to a string; `status` is never the error's to set. */
const STANDARD_STRINGS = new Set(['type', 'title', 'detail', 'instance'])

/** The standard members that are URI references (RFC 9457 §3.1.1, §3.1.5): clients may follow them. */
const URI_MEMBERS = new Set(['type', 'instance'])

/** What a problem URI may be, for warnings. */
const URI_RULE = 'an http(s) URI, a relative reference ("/problems/x"), about:blank, or a tag: or urn: URI'

/** What an error says about its own problem. */
interface Supplied {
  readonly type: string | undefined
  readonly members: Record<string, unknown>
  readonly warnings: string[]
}

/**
 * The problem details body for a default response. Never throws: members the error supplies that are
 * unusable (wrong type, not JSON-serialisable, a throwing `toProblem()`) are left out with a warning
 * in the log, and the rest of the problem goes out.
 */
export function problemBody (view: ErrorView, error: unknown, log: WarnLogger): string {
  const supplied = suppliedMembers(error)
  const body = standardMembers(view, supplied.type)
  for (const key of Object.keys(supplied.members)) {
    const value = supplied.members[key]
    if (key === 'status') {
      supplied.warnings.push('"status" is always the response\'s own status and was not taken from the error')
    } else if (!STANDARD_STRINGS.has(key)) {
      body[key] = value
    } else if (typeof value === 'string' && (!URI_MEMBERS.has(key) || isSafeProblemUri(value))) {
      body[key] = value
    } else {
      const rule = URI_MEMBERS.has(key) ? URI_RULE : 'a string'
      supplied.warnings.push(`"${key}" must be ${rule}, got ${describe(value)}; the default was kept`)
    }
  }
  addPluginMembers(body, view)
  let text: string
  try {
    text = JSON.stringify(body)
  } catch (failure) {
    supplied.warnings.push(`its members cannot be serialised as JSON (${messageOf(failure)}); they were left out`)
    const plain = standardMembers(view, supplied.type)
    addPluginMembers(plain, view)
    text = JSON.stringify(plain)
  }
  if (supplied.warnings.length > 0) {
    log.warn({ problemWarnings: supplied.warnings },
      `problem details of a ${view.status} response: the error's own members were partly unusable`)
  }
  return text
}

/** `type`, `title`, `status`, `detail`, `instance`, in RFC 9457's order. */
function standardMembers (view: ErrorView, type: string | undefined): Record<string, unknown> {
  // A null-prototype object: a member named `__proto__` (from a parsed JSON payload) stays a member.
  const body = Object.create(null) as Record<string, unknown>
  body.type = type ?? BLANK_TYPE
  body.title = view.name
  body.status = view.status
  body.detail = view.message
  body.instance = view.path
  return body
}

/** The plugin's own extension members; they win over an error's members of the same name. */
function addPluginMembers (body: Record<string, unknown>, view: ErrorView): void {
  if (view.code !== undefined) body.code = view.code
  body.requestId = view.requestId
  if (view.traceId !== undefined) body.traceId = view.traceId
  const errors = validationErrors(view.validation, view.validationContext)
  if (errors !== undefined) body.errors = errors
  if (view.validation !== undefined) body.validation = view.validation
  if (view.validationContext !== undefined) body.validationContext = view.validationContext
}

/** Reads the error's problem type and members (see the module comment); never throws. */
function suppliedMembers (error: unknown): Supplied {
  const warnings: string[] = []
  if (error === null || typeof error !== 'object') return { type: undefined, members: {}, warnings }
  try {
    const record = error as Record<string, unknown>
    const ctor = record.constructor
    // The static field of the error's class: `class OutOfCredit extends Error { static type = '…' }`.
    const type = ownType(record.type, 'its "type"', warnings) ??
      ownType(typeof ctor === 'function' ? (ctor as { type?: unknown }).type : undefined, 'its class\'s static "type"', warnings)
    let members: unknown = record.payload
    let source = 'payload'
    if (typeof record.toProblem === 'function') {
      members = (record.toProblem as () => unknown)()
      source = 'toProblem()'
    } else if (members === undefined) {
      return { type, members: {}, warnings }
    }
    if (!isPlainObject(members)) {
      warnings.push(`${source} gave ${describe(members)}, not a plain object; it was left out`)
      return { type, members: {}, warnings }
    }
    return { type, members, warnings }
  } catch (failure) {
    warnings.push(`reading the error's type, toProblem() or payload threw (${messageOf(failure)}); they were left out`)
    return { type: undefined, members: {}, warnings }
  }
}

/** A failure's message for a log line; anything thrown can arrive here, so reading it is guarded. */
function messageOf (failure: unknown): string {
  try {
    if (failure instanceof Error) return String(failure.message)
  } catch {
    // A Proxy whose getPrototypeOf trap or message getter throws: describe it instead.
  }
  return describe(failure)
}

/**
 * An error's own problem type, when it is one we send. A refused URI is left out with a warning (the
 * next source, or `about:blank`, is sent); a value not meant as a URI (a bare word, a number) is left
 * out silently, since many errors carry an unrelated `type` field.
 */
function ownType (value: unknown, source: string, warnings: string[]): string | undefined {
  if (typeof value !== 'string') return undefined
  if (isSafeProblemUri(value)) return value
  if (MEANT_AS_URI.test(value) || CONTROL.test(value)) {
    warnings.push(`${source} must be ${URI_RULE}, got ${describe(value)}; it was not used`)
  }
  return undefined
}

/** A scheme (`javascript:`, `data:`) or a path: written as a URI, so a refusal deserves a warning. */
const MEANT_AS_URI = /^\s*(?:[a-z][a-z\d+.-]*:|[/.])/i
/** C0 and C1 control characters and DEL: never in a URI, and a sign of injected text. */
// eslint-disable-next-line no-control-regex -- control characters are what the pattern refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/**
 * RFC 3986 §2's characters: unreserved, reserved and `%` of percent-encoding. No whitespace, no
 * control character, none of `<>"{}|\\^\``, no non-ASCII (RFC 9457's members are URIs: an IRI must be
 * percent-encoded).
 */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/
/**
 * The URI forms we send. `http:`/`https:` with a host; a relative reference starting with `/`, `./`
 * or `../` (resolved against the request URL, so its scheme is the request's); `about:blank`
 * (RFC 9457 §4.2.1); `tag:` (RFC 4151) and `urn:` (RFC 8141) names, which are not fetched.
 */
const SAFE_FORMS = /^(?:https?:\/\/[^/?#]|\/|\.\.?\/|about:blank$|tag:.|urn:[a-z\d][a-z\d-]{0,31}:.)/i

/**
 * Whether `value` is a problem `type` (or `instance`) we send. RFC 9457 §3.1.1 allows any URI
 * reference, but clients and documentation pages render `type` as a link: a `javascript:`, `data:`,
 * `vbscript:` or `file:` URI there runs script or reads files when clicked, so only forms that are
 * web pages or inert names pass. A bare word is refused too: it is far more often an unrelated
 * `type` field than a problem type.
 */
export function isSafeProblemUri (value: string): boolean {
  return URI_CHARS.test(value) && SAFE_FORMS.test(value)
}

/**
 * Fastify's validation details as problem `errors`: one `{ pointer, detail, keyword }` per Ajv error.
 * The pointer is the `validationContext`, then Ajv's `instancePath` (already a JSON pointer), then the
 * property named in `params` for `required` / `additionalProperties` / `propertyNames` failures, so a
 * missing `name` in the body is `#/body/name`, not `#/body`. Reads the details as the error view has
 * them (lib/pages.ts: Ajv's documented members only, of Ajv's types); undefined without details.
 */
export function validationErrors (validation: ErrorView['validation'], context: string | undefined): ProblemFieldError[] | undefined {
  if (validation === undefined) return undefined
  const base = context === undefined ? '' : `/${escapeToken(context)}`
  return validation.map((item) => fieldError(item, base))
}

function fieldError (item: Readonly<Record<string, unknown>>, base: string): ProblemFieldError {
  const instancePath = item.instancePath
  const path = typeof instancePath === 'string' && (instancePath === '' || instancePath.startsWith('/')) ? instancePath : ''
  const params = isPlainObject(item.params) ? item.params : {}
  const named = [params.missingProperty, params.additionalProperty, params.propertyName]
  const property = named.find((name) => typeof name === 'string') as string | undefined
  const pointer = base + path + (property === undefined ? '' : `/${escapeToken(property)}`)
  const keyword = typeof item.keyword === 'string' ? item.keyword : undefined
  const error: ProblemFieldError = {
    pointer: `#${fragmentEncode(pointer)}`,
    detail: typeof item.message === 'string' ? item.message : keyword === undefined ? 'is invalid' : `failed "${keyword}"`
  }
  if (keyword !== undefined) error.keyword = keyword
  return error
}

/** RFC 6901 §3: `~` → `~0`, `/` → `~1` inside one reference token. */
function escapeToken (token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1')
}

/**
 * RFC 6901 §6: a pointer in a URI fragment percent-encodes (UTF-8) what a fragment may not hold
 * (RFC 3986 §3.5: pchar, `/` and `?`). Lone surrogates encode as U+FFFD instead of throwing.
 */
function fragmentEncode (pointer: string): string {
  return pointer.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]/gu, (char) => {
    let encoded = ''
    for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
    return encoded
  })
}
