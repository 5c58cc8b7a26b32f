/**
 * Copying headers an error carries onto the reply (DESIGN §11): only names that are RFC 9110 tokens
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

/** True when `name` can be a header name. */
export function isHeaderName (name: string): boolean {
  return TOKEN.test(name)
}

/** What `applyHeaders` reports when the headers object cannot even be listed. */
export const UNREADABLE = '(unreadable headers object)'

/**
 * Sets every valid header of `headers` on `reply` and returns the names that were refused (invalid
 * names or values, and the framing fields).
 * Reading is guarded: a getter that throws counts as an invalid value, and an object whose keys
 * cannot be listed is refused whole (reported as {@link UNREADABLE}).
 */
export function applyHeaders (reply: FastifyReply, headers: Record<string, unknown>): string[] {
  let names: string[]
  try {
    names = Object.keys(headers)
  } catch {
    // A Proxy whose ownKeys trap throws: nothing can be read, so nothing is set; the caller logs it.
    return [UNREADABLE]
  }
  const refused: string[] = []
  for (const name of names) {
    let value: string | string[] | undefined
    try {
      value = isHeaderName(name) && !FRAMING.has(name.toLowerCase()) ? headerValue(headers[name]) : undefined
    } catch {
      // The header's getter threw: it is refused like any other invalid value (reported below).
      value = undefined
    }
    if (value === undefined) refused.push(name)
    else reply.header(name, value)
  }
  return refused
}
