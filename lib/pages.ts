/**
 * Default error bodies: Fastify's JSON shape and a small built-in HTML page.
 * Everything that reaches HTML is escaped; 5xx bodies only ever carry the generic text.
 */
import { createHash } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { HTTPException, statusClasses } from './exceptions.js'
import type { ThrownFacts } from './thrown.js'
import { readValidation } from './validation.js'

/** What a default response says about one error. */
export interface ErrorView {
  /** The status sent. */
  readonly status: number
  /** The reason phrase, e.g. "Not Found". */
  readonly name: string
  /** The text shown to the client: the error's own for 4xx, the generic one for hidden 5xx. */
  readonly message: string
  /** A string error code (`FST_ERR_VALIDATION`), as Fastify's own JSON has it. */
  readonly code: string | undefined
  /**
   * Fastify's validation details, for validation errors: Ajv's error objects reduced to their
   * documented members (no verbose `data`, which can hold every request header).
   */
  readonly validation: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined
  /** Which part of the request failed validation: `body`, `querystring`, `params` or `headers`. */
  readonly validationContext: string | undefined
  /** The request id: the reference a user can quote and the log line carries. */
  readonly requestId: string
  /**
   * The trace id of the request's OpenTelemetry span, when one is active: unlike the request id (one
   * process's counter), it finds the request across every service it went through.
   */
  readonly traceId?: string
  /** The request path (without the query string). */
  readonly path: string
}

/** The generic text for a status: our class's description, or a plain sentence. */
export function genericText (status: number): string {
  const fallback = status >= 500 ? 'The server could not complete the request.' : 'The request could not be completed.'
  return statusClasses.get(status)?.description ?? fallback
}

/** The reason phrase for a status (Node's table, as Fastify's `error` field uses). */
export function reasonPhrase (status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error')
}

/** Builds the view of an error for the default response. */
export function errorView (
  status: number, facts: ThrownFacts, error: unknown, requestId: string, url: string, traceId?: string
): ErrorView {
  const query = url.indexOf('?')
  // An application's own class (static code 599, static reason) speaks for its status: its reason
  // phrase and its class description (written by the app, so safe to show even for a 5xx).
  const ours = error instanceof HTTPException && error.code === status ? error : undefined
  return {
    status,
    name: ours !== undefined && typeof ours.name === 'string' ? ours.name : reasonPhrase(status),
    message: facts.status === status && facts.publicMessage !== undefined
      ? facts.publicMessage
      : (ours === undefined ? genericText(status) : classDescription(ours)),
    code: facts.code,
    validation: facts.code === 'FST_ERR_VALIDATION' ? readValidation(error) : undefined,
    validationContext: facts.code === 'FST_ERR_VALIDATION' ? readValidationContext(error) : undefined,
    requestId,
    traceId,
    path: query === -1 ? url : url.slice(0, query)
  }
}

/** The description a class declares: shown for a 5xx whose instance text is hidden. */
function classDescription (error: HTTPException): string {
  const declared = (error.constructor as typeof HTTPException).description
  return typeof declared === 'string' ? declared : genericText(error.code)
}

function readValidationContext (error: unknown): string | undefined {
  try {
    const context = (error as { validationContext?: unknown }).validationContext
    return typeof context === 'string' ? context : undefined
  } catch {
    // A throwing getter: the context is left out, like unreadable details.
    return undefined
  }
}

/** The members of the default JSON body, in the order they are written: Fastify's shape, then ours. */
export const ERROR_JSON_MEMBERS = [
  'statusCode', 'code', 'error', 'message', 'validation', 'validationContext', 'requestId', 'traceId'
] as const

/** One member of the default JSON body. */
export type ErrorJsonMember = typeof ERROR_JSON_MEMBERS[number]

/** What the default JSON body says: an ErrorView, or the same fields of a body made elsewhere (the debug JSON, the raw 500). */
export type ErrorJsonFields = Omit<ErrorView, 'path'>

/**
 * The one writer of the default JSON body: Fastify's error JSON `{ statusCode, code?, error, message }`
 * (existing clients keep working), plus `validation` and `validationContext` for validation errors,
 * `requestId`, and `traceId` when a span is active. Members that are undefined are left out, as JSON.stringify leaves them. `debug`,
 * when given, is appended as the debug JSON's own member.
 */
export function errorJson (fields: ErrorJsonFields, debug?: unknown): string {
  return JSON.stringify({
    statusCode: fields.status,
    code: fields.code,
    error: fields.name,
    message: fields.message,
    validation: fields.validation,
    validationContext: fields.validationContext,
    requestId: fields.requestId,
    traceId: fields.traceId,
    debug
  })
}

/** The fields of a body with no code and no validation details: what the debug JSON and the raw 500 say. */
export function bareFields (status: number, name: string, message: string, requestId: string, traceId?: string): ErrorJsonFields {
  return { status, name, message, code: undefined, validation: undefined, validationContext: undefined, requestId, traceId }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

const SPECIAL = /[&<>"']/
const SPECIALS = /[&<>"']/g

/**
 * Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"` and `'`
 * become entities (the OWASP rule for both contexts). The built-in pages put every value through it;
 * a handler that returns HTML built from request or error text (a string result is sent as
 * `text/html`) needs it as much. Not for unquoted attributes, URLs, `<script>` or CSS.
 * @example
 * app.errorhandler(404)((error, request) => [`<h1>No page at ${escapeHtml(request.url)}</h1>`, 404])
 */
export function escapeHtml (value: string): string {
  // Most text has nothing to escape: one test instead of a replace that calls back per match.
  return SPECIAL.test(value) ? value.replace(SPECIALS, (char) => ESCAPES[char]) : value
}

const STYLE = 'body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}' +
  'main{max-width:36rem;margin:12vh auto;padding:2rem;background:#fff;border:1px solid #d0d7de;border-radius:12px}' +
  '.status{margin:0;font-size:3rem;font-weight:700;color:#57606a}h1{margin:.25rem 0 1rem;font-size:1.5rem}' +
  '.ref{color:#57606a;font-size:.875rem}code{font-family:ui-monospace,monospace}a{color:#0969da}'

/**
 * The headers of a page the plugin writes whose only styling is its own inline `style` (the built-in
 * page, the debug page): a CSP (W3C CSP Level 3) that allows that style by its hash, so no
 * `unsafe-inline`, and nothing else — no script, no outside resource, no form target, no framing —
 * and no MIME sniffing. Even if escaping ever failed, no script could run.
 */
export function styleOnlyHeaders (style: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff'
  }
}

/** Headers of every built-in page (see styleOnlyHeaders). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze(styleOnlyHeaders(STYLE))
/** The built-in page's CSP alone: the page's other header (`nosniff`) is on every error response already. */
export const PAGE_CSP = PAGE_HEADERS['content-security-policy']

/** The part of a body before the request id, and what it was made for. */
interface Head {
  readonly status: number
  readonly name: string
  readonly text: string
}

/**
 * Default bodies differ per request only by the request id: the rest (status, reason, description)
 * repeats for every 404, so it is written (and escaped) once per description. Keyed by the message
 * string and checked against status and reason; bounded (emptied when full), so a flood of unique
 * messages cannot grow it.
 */
const HEAD_CACHE_LIMIT = 256

/**
 * The default JSON body and the built-in page of one registered app, with the part before the request
 * id cached per message (created at registration, dropped with the app: no state is shared between
 * apps or kept after one is closed).
 */
export class DefaultBodies {
  readonly #pages = new Map<string, Head>()
  readonly #json = new Map<string, Head>()

  /** The default JSON body (errorJson's text, byte for byte). */
  json (view: ErrorView): string {
    if (view.code === undefined && view.validation === undefined && view.validationContext === undefined) {
      // Most errors (every abort, every routing 404): errorJson's text, with all but the request id
      // written once per message.
      const trace = view.traceId === undefined ? '}' : `,"traceId":${JSON.stringify(view.traceId)}}`
      return cached(this.#json, view, jsonHead) + JSON.stringify(view.requestId) + trace
    }
    return errorJson(view)
  }

  /** The small built-in page: status, reason, description, reference (request id, and trace id when there is one), a link home. */
  page (view: ErrorView): string {
    const trace = view.traceId === undefined ? '' : `</code> · Trace: <code>${escapeHtml(view.traceId)}`
    return cached(this.#pages, view, pageHead) + escapeHtml(view.requestId) + trace + PAGE_TAIL
  }
}

function cached (heads: Map<string, Head>, view: ErrorView, write: (view: ErrorView) => string): string {
  const hit = heads.get(view.message)
  if (hit !== undefined && hit.status === view.status && hit.name === view.name) return hit.text
  const head = { status: view.status, name: view.name, text: write(view) }
  if (heads.size >= HEAD_CACHE_LIMIT) heads.clear()
  heads.set(view.message, head)
  return head.text
}

/** errorJson's text for the view with an empty request id, cut before that id's `""}`. */
function jsonHead (view: ErrorView): string {
  return errorJson(bareFields(view.status, view.name, view.message, '')).slice(0, -3)
}

const PAGE_TAIL = '</code></p><p><a href="/">Back to the home page</a></p></main></body></html>'

function pageHead (view: ErrorView): string {
  const name = escapeHtml(view.name)
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${view.status} ${name}</title><style>${STYLE}</style></head><body><main>` +
    `<p class="status">${view.status}</p><h1>${name}</h1>` +
    `<p>${escapeHtml(view.message)}</p>` +
    '<p class="ref">Reference: <code>'
}
