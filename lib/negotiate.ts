/**
 * JSON or HTML for this request (DESIGN §5): HTML when the client prefers `text/html` over
 * `application/json` (RFC 9110 §12.5.1 q-values, ties broken by the client's own order), JSON
 * otherwise — including `*\/*`, no `Accept`, and an `Accept` we cannot satisfy: an error response
 * is never turned into a 406. The header is parsed by `negotiator` (the parser behind Express's
 * `accepts`), which applies q-values, specificity and q=0 exclusions and skips malformed elements.
 */
import Negotiator from 'negotiator'

/** The two representations an error response can take. */
export type Representation = 'json' | 'html'

/** A context's policy: negotiate per request, or always one representation (an `/api` prefix). */
export type FormatPolicy = 'negotiate' | Representation

/**
 * Parsing an Accept header costs a few microseconds (a third of a plain JSON response, DESIGN §10),
 * and clients send a handful of distinct values, so answers are cached per value. The cache is
 * bounded: when full it is emptied, which keeps memory flat under a flood of unique headers.
 */
const CACHE_LIMIT = 256
/** Longer values are answered without caching: real browsers send well under this. */
const CACHEABLE_LENGTH = 256
const cache = new Map<string, Representation>()
/** The last header answered from the cache, and its answer. */
let last: { readonly accept: string, readonly answer: Representation } = { accept: '', answer: 'json' }

/** The representation the `accept` header asks for under `policy`. */
export function choose (accept: string | undefined, policy: FormatPolicy): Representation {
  if (policy !== 'negotiate') return policy
  // Not a string: Node joins repeated Accept headers, but an injected request may carry an array.
  if (typeof accept !== 'string' || accept === '' || accept === '*/*') return 'json'
  // Consecutive requests mostly carry the same header (one browser family, one API client): a string
  // comparison answers them without hashing the header again for the map.
  if (accept === last.accept) return last.answer
  const cached = cache.get(accept)
  if (cached !== undefined) {
    last = { accept, answer: cached }
    return cached
  }
  const answer = parse(accept)
  if (accept.length <= CACHEABLE_LENGTH) {
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(accept, answer)
  }
  return answer
}

/** What we send, with the parameters we send it with (a client's `charset=utf-8` then still matches). */
const JSON_TYPE = 'application/json; charset=utf-8'
const HTML_TYPE = 'text/html; charset=utf-8'
/**
 * Elements past this length are not read: negotiator's cost grows with the header (≈0.9 ms for a
 * 16 KB one), and no real client puts its preferences there. Cut at an element boundary.
 */
const READ_LENGTH = 1024

function parse (header: string): Representation {
  const accept = header.length <= READ_LENGTH ? header : header.slice(0, Math.max(0, header.lastIndexOf(',', READ_LENGTH)))
  const negotiator = new Negotiator({ headers: { accept } })
  // A client that names a JSON dialect (RFC 6839 `+json`: problem+json, vnd.api+json, hal+json)
  // reads a JSON error: offer the dialects it names alongside our two types.
  const dialects = negotiator.mediaTypes().filter((type) => type.endsWith('+json'))
  return negotiator.mediaType([JSON_TYPE, HTML_TYPE, ...dialects]) === HTML_TYPE ? 'html' : 'json'
}

/** How many Accept values are cached now (for tests of the bound). */
export function cachedCount (): number {
  return cache.size
}
