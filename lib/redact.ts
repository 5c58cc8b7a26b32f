/**
 * One redaction policy for everything the plugin emits about a request: the debug page and JSON,
 * the summaries reporters get (and so error mails), and the plugin's own log lines. Built once per
 * registered app from the `redact` option (validated in options.ts); at request time it only reads.
 *
 * What is masked, and why it is shaped so:
 * - Credentials by header name: `cookie` and `set-cookie` keep each cookie's name and lose its value
 *   (which cookie was sent helps debugging; its value is a session), `authorization` and
 *   `proxy-authorization` keep the scheme (RFC 9110 §11.4: `credentials = auth-scheme [ … ]`, the
 *   scheme says which login was tried and holds no secret), any other name that suggests a secret
 *   (`x-api-key`, `x-auth-token`, `x-session-id`…) loses its whole value.
 * - Query parameters whose names suggest a secret (`?token=`, `?password=`, `?api_key=`, OAuth's
 *   `?code=`, signed URLs' `?sig=` / `X-Amz-Signature`): the value goes, the name stays.
 * - Log lines carry the URL cut at `MAX_LOG_URL` characters with a marker: a 10 KB URL is a client's
 *   doing, and must not make every error line 10 KB.
 * - Fields of a report's context (`reportContext`, `error.context()`) whose names suggest a secret
 *   (`password`, `accessToken`, `apiKey`, `sessionId`, `cookie`…), at any depth: the value goes, the
 *   name stays. The same patterns as query parameters (an app names its fields as it names its
 *   parameters), plus `cookie` and `passphrase`, plus every name the app gave for headers and the query.
 *
 * Names the application adds (`redact: { headers, query }`) come on top of these defaults, which
 * cannot be switched off: a configuration mistake must never unmask `authorization`.
 */
import type { IncomingHttpHeaders } from 'node:http'

/** What replaces a secret value. */
export const MASK = '[masked]'

/** Longest URL a log line carries; the rest is replaced by a marker saying how much was cut. */
export const MAX_LOG_URL = 2048

/** The `redact` option: names added to the defaults. */
export interface RedactOptions {
  /**
   * Request header names whose values are masked: a string is a whole name, a RegExp is tested
   * against the name; both without regard to case.
   */
  headers?: ReadonlyArray<string | RegExp>
  /** Query parameter names whose values are masked, matched in the same way (after URL-decoding). */
  query?: ReadonlyArray<string | RegExp>
}

/** A request as the policy reads it. */
export interface RequestLike {
  readonly method: string
  readonly url: string
}

/** The per-app policy. Every method is pure: it reads the names it was built with, nothing else. */
export interface Redaction {
  /** One header value as it may be shown (`name` in any case). */
  header: (name: string, value: string) => string
  /** A copy of request headers with every value masked by `header` (lists stay lists). */
  headers: (headers: IncomingHttpHeaders) => Record<string, string | string[] | undefined>
  /** The URL with the values of secret query parameters masked; the path is kept as sent. */
  url: (url: string) => string
  /** `url` masked, then cut at `MAX_LOG_URL` characters with a marker: what log lines carry. */
  logUrl: (url: string) => string
  /** `GET /path?token=[masked]`: the request as log messages name it. */
  line: (request: RequestLike) => string
  /** Whether a report context field named `name` (at any depth) holds a secret: its value is then shown as `MASK`. */
  secretField: (name: string) => boolean
}

/** Headers that carry credentials under their standard names (RFC 6265 cookies, RFC 9110 §11 auth). */
const COOKIE_HEADERS = new Set(['cookie', 'set-cookie'])
const AUTH_HEADERS = new Set(['authorization', 'proxy-authorization'])

/**
 * Header names that by convention carry secrets: `x-api-key`, `x-auth-token`, `x-csrf-token`,
 * `x-session-id`, `x-hub-signature`, `x-jwt-assertion`… `auth(?!or)` spares `:authority` (the host)
 * while `authoriz` still catches `x-forwarded-authorization`.
 */
const SECRET_HEADER = new RegExp([
  'token', 'secret', 'passw(?:or)?d', 'api-?key', 'access-?key', 'private-?key', 'session', 'auth(?!or)', 'authoriz', 'cookie',
  'credential', 'signature', 'jwt'
].join('|'), 'i')

/**
 * Query parameter names that by convention carry secrets: `access_token`, `client_secret`,
 * `password`, `api_key`, `X-Amz-Signature`, `sessionid`… `auth(?!or)` spares a blog's `?author=`.
 */
const SECRET_QUERY = new RegExp([
  'token', 'secret', 'passw(?:or)?d', 'pwd', 'api[-_]?key', 'access[-_]?key', 'private[-_]?key', 'session', 'auth(?!or)', 'authoriz',
  'credential', 'signature', 'jwt'
].join('|'), 'i')

/**
 * Whole query parameter names that carry secrets but are too short to match by pattern: Google's
 * `?key=`, Azure SAS's `?sig=`, OAuth 2.0's authorization `?code=` (RFC 6749 §4.1.2: exchanged for
 * tokens), `?sid=`, `?pass=`.
 */
const SECRET_QUERY_NAMES = ['key', 'sig', 'code', 'sid', 'pass']

/**
 * Whole field names of a report context that carry secrets but are too short to match by pattern: the
 * query's list without `code`, which in an application's own data is far more often an error, product
 * or country code than OAuth's one-time authorization code (that one travels in the query string).
 */
const SECRET_FIELD_NAMES = SECRET_QUERY_NAMES.filter((name) => name !== 'code')

/** An auth scheme worth keeping: an RFC 9110 token of reasonable length (Basic, Bearer, Digest, AWS4-HMAC-SHA256). */
const AUTH_SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/

/** A name matcher: exact names (lower-cased) and patterns, all tested without regard to case. */
interface Matcher {
  readonly names: ReadonlySet<string>
  readonly patterns: readonly RegExp[]
}

/**
 * A RegExp the matcher can test safely: `g` and `y` make `test()` carry `lastIndex` from one call to
 * the next (so the same name would match, then not), and `i` makes case never matter, as for strings.
 */
function caseless (pattern: RegExp): RegExp {
  const flags = pattern.flags.replace(/[gyi]/g, '')
  return new RegExp(pattern.source, `${flags}i`)
}

function matcher (names: Iterable<string>, patterns: Iterable<RegExp>, extra: ReadonlyArray<string | RegExp> | undefined): Matcher {
  const exact = new Set(names)
  const all = [...patterns]
  for (const item of extra ?? []) {
    if (typeof item === 'string') exact.add(item.toLowerCase())
    else all.push(caseless(item))
  }
  return { names: exact, patterns: all }
}

function matches (matcher: Matcher, name: string): boolean {
  const lower = name.toLowerCase()
  if (matcher.names.has(lower)) return true
  for (const pattern of matcher.patterns) if (pattern.test(lower)) return true
  return false
}

/** `a=1; b=2` → `a=[masked]; b=[masked]`: the names say which cookies were sent. */
function maskCookies (value: string): string {
  return value.split(';').map((pair) => {
    const eq = pair.indexOf('=')
    return eq === -1 ? MASK : `${pair.slice(0, eq).trim()}=${MASK}`
  }).join('; ')
}

/** `Bearer abc` → `Bearer [masked]`; a value without a recognisable scheme is masked whole. */
function maskCredentials (value: string): string {
  const trimmed = value.trim()
  const space = trimmed.search(/\s/)
  if (space === -1) return MASK
  const scheme = trimmed.slice(0, space)
  return AUTH_SCHEME.test(scheme) ? `${scheme} ${MASK}` : MASK
}

/** A query parameter name as the application reads it (`+` is a space in form encoding). */
function decodeName (raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    // Malformed percent-encoding (`%zz`): the name is compared as it was sent, which is how a
    // lenient parser would read it too; masking errs on the side of matching.
    return raw
  }
}

/**
 * Cuts `text` at `max` characters and says how much was left out. A request URL has no surrogate pair
 * to split: Node's HTTP parser gives it as one character per byte (latin1).
 */
function bounded (text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more characters]`
}

/**
 * Builds the policy: the defaults plus the names in `options` (already validated by options.ts).
 * Called once per registered app.
 */
export function createRedaction (options: RedactOptions = {}): Redaction {
  const headerNames = matcher([...COOKIE_HEADERS, ...AUTH_HEADERS], [SECRET_HEADER], options.headers)
  const queryNames = matcher(SECRET_QUERY_NAMES, [SECRET_QUERY], options.query)
  const fieldNames = matcher(SECRET_FIELD_NAMES, [SECRET_QUERY, /cookie|passphrase/i], [...options.headers ?? [], ...options.query ?? []])

  function header (name: string, value: string): string {
    const lower = name.toLowerCase()
    if (COOKIE_HEADERS.has(lower)) return maskCookies(value)
    if (AUTH_HEADERS.has(lower)) return maskCredentials(value)
    return matches(headerNames, lower) ? MASK : value
  }

  function headers (input: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
    const out: Record<string, string | string[] | undefined> = {}
    for (const [name, value] of Object.entries(input)) {
      // Node gives every received header as a string, or a list for `set-cookie`; never undefined.
      out[name] = Array.isArray(value) ? value.map((item) => header(name, item)) : header(name, String(value))
    }
    return out
  }

  function url (raw: string): string {
    const queryAt = raw.indexOf('?')
    if (queryAt === -1) return raw
    const parts = raw.slice(queryAt + 1).split('&')
    for (let i = 0; i < parts.length; i++) {
      const eq = parts[i].indexOf('=')
      // `?token` (no value) and `?token=` (empty) hide nothing.
      if (eq === -1 || eq === parts[i].length - 1) continue
      if (matches(queryNames, decodeName(parts[i].slice(0, eq)))) parts[i] = `${parts[i].slice(0, eq)}=${MASK}`
    }
    return `${raw.slice(0, queryAt)}?${parts.join('&')}`
  }

  function logUrl (raw: string): string {
    // Masked first, then cut: a cut can only remove characters, never expose part of a value.
    return bounded(url(raw), MAX_LOG_URL)
  }

  function line (request: RequestLike): string {
    return `${request.method} ${logUrl(request.url)}`
  }

  function secretField (name: string): boolean {
    return matches(fieldNames, name)
  }

  return { header, headers, url, logUrl, line, secretField }
}
