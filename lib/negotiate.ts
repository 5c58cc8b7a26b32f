/**
 * JSON or HTML for this request: HTML when the client prefers `text/html` over
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
 * Parsing an Accept header costs a few microseconds, a sizeable part of a small error response,
 * and clients send a handful of distinct values, so answers are cached per value. The cache is
 * bounded: when full it is emptied, which keeps memory flat under a flood of unique headers.
 */
const CACHE_LIMIT = 256
/** Longer values are answered without caching: real browsers send well under this. */
const CACHEABLE_LENGTH = 256

/**
 * The Accept decisions of one registered app (created at registration, dropped with the app: no
 * state is shared between apps or kept after one is closed).
 */
export class Negotiation {
  readonly #cache = new Map<string, Representation>()
  /** The last header answered from the cache, and its answer. */
  #lastAccept = ''
  #lastAnswer: Representation = 'json'

  /** The representation the `accept` header asks for under `policy`. */
  choose (accept: string | undefined, policy: FormatPolicy): Representation {
    if (policy !== 'negotiate') return policy
    // Not a string: Node joins repeated Accept headers, but an injected request may carry an array.
    if (typeof accept !== 'string' || accept === '' || accept === '*/*') return 'json'
    // Consecutive requests mostly carry the same header (one browser family, one API client): a string
    // comparison answers them without hashing the header again for the map.
    if (accept === this.#lastAccept) return this.#lastAnswer
    const cached = this.#cache.get(accept)
    if (cached !== undefined) {
      this.#lastAccept = accept
      this.#lastAnswer = cached
      return cached
    }
    const answer = preferred(accept)
    if (accept.length <= CACHEABLE_LENGTH) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear()
      this.#cache.set(accept, answer)
    }
    return answer
  }
}

/** What we send, with the parameters we send it with (a client's `charset=utf-8` then still matches). */
const JSON_TYPE = 'application/json; charset=utf-8'
const HTML_TYPE = 'text/html; charset=utf-8'
/**
 * Elements past this length are not read: negotiator's cost grows with the header (≈0.9 ms for a
 * 16 KB one), and no real client puts its preferences there. Cut at an element boundary.
 */
const READ_LENGTH = 1024
/**
 * JSON dialects offered at most. negotiator matches every offered type against every element of the
 * header, so offering each named dialect made the cost grow with the square of their number, and a
 * header made of nothing but distinct `+json` types cost many times an ordinary one. Real clients name
 * one or two (problem+json, vnd.api+json). The dialects are taken in the client's order of
 * preference, so the one it likes most is always offered and, for dialects named without
 * parameters, the answer is the one offering all of them would give. Only a header that prefers
 * more than this many dialects with parameters (`…+json;v=2`, which the bare types offered do not
 * match, RFC 9110 §12.5.1) can crowd out one that would have counted.
 */
const MAX_DIALECTS = 4
/** A header that may name a JSON dialect; one that does not is offered our two types alone. */
const DIALECT = /\+json/i
const OURS = [JSON_TYPE, HTML_TYPE]

/** The representation `header` (a non-empty Accept value) prefers, parsed every time: Negotiation caches it. */
function preferred (header: string): Representation {
  const accept = header.length <= READ_LENGTH ? header : header.slice(0, Math.max(0, header.lastIndexOf(',', READ_LENGTH)))
  const negotiator = new Negotiator({ headers: { accept } })
  // A client that names a JSON dialect (RFC 6839 `+json`: problem+json, vnd.api+json, hal+json)
  // reads a JSON error: offer the dialects it names alongside our two types.
  // Most headers name none (every browser's): they are parsed once, not twice.
  const offered = DIALECT.test(accept) ? [JSON_TYPE, HTML_TYPE, ...dialects(negotiator.mediaTypes())] : OURS
  return negotiator.mediaType(offered) === HTML_TYPE ? 'html' : 'json'
}

/**
 * The distinct `+json` types among `types` (the client's acceptable types, most preferred first), at
 * most MAX_DIALECTS of them. Media types are case-insensitive (RFC 9110 §8.3.1): `Application/HAL+JSON`
 * is a dialect, and the same type named twice is offered once (negotiator still reads both elements,
 * so the higher q of the two counts).
 */
function dialects (types: readonly string[]): string[] {
  const seen = new Set<string>()
  for (const type of types) {
    const lower = type.toLowerCase()
    if (lower.endsWith('+json') && !seen.has(lower)) {
      seen.add(lower)
      if (seen.size === MAX_DIALECTS) break
    }
  }
  return [...seen]
}
