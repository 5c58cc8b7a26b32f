/**
 * Copying headers an error carries onto the reply: only names that are RFC 9110 tokens
 * and values without control characters go out; anything else is dropped with a warning, so a bad
 * header on an error can never turn its response into a crash (Node throws on CR/LF in headers).
 */
import type { FastifyReply } from 'fastify'

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** What Node's http module accepts in a field value: no CR, LF, NUL or other controls but tab. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** A header value after validation, or undefined when it cannot be sent. */
export function headerValue (value: unknown): string | string[] | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined
  if (typeof value === 'string') return FIELD_VALUE.test(value) ? value : undefined
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && FIELD_VALUE.test(item))) {
    return value as string[]
  }
  return undefined
}

/**
 * Fields that frame the message (RFC 9112 §6): the server sets them from the body it actually
 * sends. Copied from an error or a handler's tuple they break the response — a `Content-Length`
 * that does not match a stream leaves the client waiting, `Transfer-Encoding` next to Fastify's
 * `Content-Length` is rejected by clients, and a `Trailer` without chunked encoding makes Node throw
 * mid-send — so they are refused like invalid ones.
 */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'trailer'])

/**
 * Fields that take one value (RFC 9110 §5.3: a list would be invalid), and that Fastify reads itself
 * when it sends: a `Content-Type` given as a list makes Fastify's own parser throw mid-send.
 */
const SINGLETONS = new Set(['content-type', 'location', 'retry-after', 'content-range', 'etag', 'last-modified'])

/** True when `name` can be a header name. */
export function isHeaderName (name: string): boolean {
  return TOKEN.test(name)
}

/** What `applyHeaders` reports when the headers object cannot even be listed. */
export const UNREADABLE = '(unreadable headers object)'

/**
 * Sets every valid header of `headers` on `reply` (only those `only` lets through, when given) and
 * returns the names that were refused (invalid names or values, and the framing fields).
 * Reading is guarded: a getter that throws counts as an invalid value, and an object whose keys
 * cannot be listed is refused whole (reported as {@link UNREADABLE}).
 */
export function applyHeaders (
  reply: FastifyReply,
  headers: Record<string, unknown>,
  only?: (names: readonly string[]) => (name: string) => boolean
): string[] {
  let names: string[]
  try {
    names = Object.keys(headers)
  } catch {
    // A Proxy whose ownKeys trap throws: nothing can be read, so nothing is set; the caller logs it.
    return [UNREADABLE]
  }
  // Most errors carry no headers (every plain `abort`): nothing to filter.
  if (names.length === 0) return names
  const wanted = only?.(names)
  const refused: string[] = []
  for (const name of names) {
    // Left out by the caller's policy (a foreign error's header that is not ours to send): not an error.
    if (wanted !== undefined && !wanted(name)) continue
    let value: string | string[] | undefined
    try {
      const lower = name.toLowerCase()
      value = isHeaderName(name) && !FRAMING.has(lower) ? headerValue(headers[name]) : undefined
      if (Array.isArray(value) && SINGLETONS.has(lower)) value = undefined
    } catch {
      // The header's getter threw: it is refused like any other invalid value (reported below).
      value = undefined
    }
    if (value === undefined) refused.push(name)
    else reply.header(name, value)
  }
  return refused
}

/**
 * Headers a route may have set before it failed that describe *its* body, not ours (RFC 9110 §8.4,
 * RFC 9112 §6): a `Content-Encoding: gzip` left on an error page makes it undecodable, a stale
 * `Content-Length` truncates it or leaves the client waiting. The error response drops them; every
 * other header already on the reply (cors's `Access-Control-*`, rate-limit's, helmet's) stays.
 */
const ROUTE_BODY_HEADERS = ['content-length', 'transfer-encoding', 'content-encoding', 'trailer']

/** Removes the headers of the body the route was making from a reply about to carry an error. */
export function dropBodyHeaders (reply: FastifyReply): void {
  // Mostly none is there: a look-up is cheaper than a delete on the reply's header object.
  for (const name of ROUTE_BODY_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
}

/**
 * Adds `field` to the reply's `Vary` (RFC 9110 §12.5.5), keeping what other plugins put there
 * (`@fastify/cors`'s `Vary: Origin`): a shared cache that loses `Origin` would serve one origin's
 * response to another. Nothing is added when it is listed already, or when `Vary` is `*`.
 */
export function appendVary (reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary')
  if (current === undefined) {
    reply.header('vary', field)
    return
  }
  const listed = (Array.isArray(current) ? current.join(',') : String(current)).split(',').map((item) => item.trim().toLowerCase())
  if (listed.includes('*') || listed.includes(field.toLowerCase())) return
  reply.header('vary', `${Array.isArray(current) ? current.join(', ') : String(current)}, ${field}`)
}

/**
 * What a foreign error (not one of our `HTTPException`s) may put on the response. Such an error can be
 * an HTTP client's (undici's `throwOnError`, got, axios) carrying the *upstream's* whole header set —
 * its `Set-Cookie`, its `Content-Encoding`, its internal realm — so only the headers that belong to the
 * status being answered are taken (Fastify stopped copying error headers for custom error handlers for
 * the same reason): `Allow` (405), `Retry-After` (429/503), `Content-Range` (416), and the rate-limit
 * fields of `@fastify/rate-limit` and the IETF draft.
 */
const FOREIGN_ALLOWED = /^(allow|retry-after|content-range|ratelimit(-[a-z0-9-]+)?|x-ratelimit-[a-z0-9-]+)$/

/**
 * Fields that only a whole HTTP response carries: a headers object that has one of them is an
 * upstream's response headers, not the ones an app's own error means to send.
 */
const RESPONSE_FIELDS = ['date', 'content-type', 'content-length', 'set-cookie', 'server', 'transfer-encoding']

/**
 * Which of a foreign error's headers may go out: the allow-list above. `WWW-Authenticate` is taken
 * only for a 401 (RFC 9110 §11.6.1: a 401 carries the challenge) that the app raised itself — not when
 * the headers object is an upstream response's, whose realm is that service's business.
 */
export function foreignFilter (names: readonly string[], status: number): (name: string) => boolean {
  const challenge = status === 401 && !names.some((name) => RESPONSE_FIELDS.includes(name.toLowerCase()))
  return (name) => {
    const lower = name.toLowerCase()
    return FOREIGN_ALLOWED.test(lower) || (challenge && lower === 'www-authenticate')
  }
}
