/**
 * Reading an `Accept` header for one question only: does the client prefer HTML over JSON?
 *
 * RFC 9110 §12.5.1 rules, applied to the two families an error response can take:
 * - HTML: `text/html`;
 * - JSON: `application/json`, and any `+json` type the client names itself (RFC 9457's
 *   `application/problem+json`, `application/vnd.api+json`: RFC 6839 structured syntax suffix): a
 *   client that reads a JSON dialect reads a JSON error.
 * For each type, the most specific range that matches it gives its q-value (`text/html;q=0, *\/*`
 * excludes HTML); q=0 means "not acceptable". The family with the higher q wins; on equal q the more
 * specific match (`application/json` over `*\/*`), then the range the client listed first; a full tie
 * (`*\/*` alone) is JSON.
 *
 * Malformed input never throws and never makes a 406: an element that is not a `type/subtype` range,
 * or whose q is not a number, is skipped, as if the client had not sent it; q is clamped to [0, 1];
 * media-type parameters other than q (`charset`, `level`, `v=b3`) do not change the family.
 * The parser is linear and reads at most {@link MAX_RANGES} elements, so a 16 KB header costs no more
 * than a short one.
 */

/** The family of representation an error response can take. */
export type Family = 'json' | 'html'

/** Elements read from one header; real clients send fewer than 15 (a browser navigation sends 8), and each costs ≈0.5 µs. */
export const MAX_RANGES = 32

/** How a media range matches a type: exactly (2), as `type/*` (1), as `*\/*` (0). */
type Specificity = 0 | 1 | 2

/** How one offered type is matched: the q it gets, how specifically, and where in the header. */
interface Match {
  readonly q: number
  readonly specificity: Specificity
  /** Position of the deciding range in the header (lower = listed first). */
  readonly order: number
}

/** One `type/subtype;q=…` element, lower-cased, with its position. */
interface MediaRange {
  readonly type: string
  readonly subtype: string
  readonly q: number
  readonly order: number
}

/** RFC 9110 §5.6.2 token characters, the grammar of `type` and `subtype`. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

const NO_MATCH: Match = { q: 0, specificity: 0, order: Infinity }

/** The family the header prefers. `header` is the raw value; elements it cannot read count as absent. */
export function preferredFamily (header: string): Family {
  const ranges = parseRanges(header)
  const html = matchType(ranges, 'text', 'html')
  let json = NO_MATCH
  for (const [type, subtype] of jsonTypes(ranges)) json = better(json, matchType(ranges, type, subtype))
  return isBetter(html, json) ? 'html' : 'json'
}

/**
 * The JSON types we can answer: `application/json`, and every `+json` type the client names itself
 * (`application/problem+json`, `application/vnd.api+json`). A `+json` type only counts when named:
 * `application/json;q=0, *\/*` excludes JSON, and a wildcard does not bring it back as problem+json.
 */
function jsonTypes (ranges: readonly MediaRange[]): Array<[string, string]> {
  const types: Array<[string, string]> = [['application', 'json']]
  for (const { type, subtype } of ranges) {
    if (type !== '*' && subtype.endsWith('+json')) types.push([type, subtype])
  }
  return types
}

/**
 * RFC 9110 §12.5.1: the most specific range that matches a type decides its q, whatever the order
 * (`*\/*, application/json;q=0` excludes JSON). Equally specific duplicates: the higher q counts.
 */
function matchType (ranges: readonly MediaRange[], type: string, subtype: string): Match {
  let match: Match | undefined
  for (const range of ranges) {
    const specificity = matchSpecificity(range.type, range.subtype, type, subtype)
    if (specificity === undefined) continue
    if (match === undefined || specificity > match.specificity || (specificity === match.specificity && range.q > match.q)) {
      match = { q: range.q, specificity, order: range.order }
    }
  }
  return match ?? NO_MATCH
}

/** The better of two matches for one family. */
function better (a: Match, b: Match): Match {
  return isBetter(b, a) ? b : a
}

/** Whether `a` is acceptable and preferred to `b`: higher q, then more specific, then listed first. */
function isBetter (a: Match, b: Match): boolean {
  if (a.q === 0) return false
  if (a.q !== b.q) return a.q > b.q
  if (a.specificity !== b.specificity) return a.specificity > b.specificity
  return a.order < b.order
}

/** The header's media ranges, at most {@link MAX_RANGES} elements read. */
function parseRanges (header: string): MediaRange[] {
  const ranges: MediaRange[] = []
  let start = 0
  for (let order = 0; order < MAX_RANGES && start <= header.length; order++) {
    let end = header.indexOf(',', start)
    if (end === -1) end = header.length
    const range = parseRange(header.slice(start, end), order)
    if (range !== undefined) ranges.push(range)
    start = end + 1
  }
  return ranges
}

/** How `type/subtype` matches the offered `offeredType/offeredSubtype`, or undefined if it does not. */
function matchSpecificity (type: string, subtype: string, offeredType: string, offeredSubtype: string): Specificity | undefined {
  // parseRange only lets `*` through as `*\/*`.
  if (type === '*') return 0
  if (type !== offeredType) return undefined
  if (subtype === '*') return 1
  return subtype === offeredSubtype ? 2 : undefined
}

/** One header element as a media range, or undefined if it is not one. */
function parseRange (element: string, order: number): MediaRange | undefined {
  const semicolon = element.indexOf(';')
  const mediaType = trimOws(semicolon === -1 ? element : element.slice(0, semicolon)).toLowerCase()
  const slash = mediaType.indexOf('/')
  if (slash === -1) return undefined
  const type = mediaType.slice(0, slash)
  const subtype = mediaType.slice(slash + 1)
  // RFC 9110 allows `*\/*`, `type/*` and `type/subtype`; `*\/html` and `text/` are not media ranges.
  if (!TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) return undefined
  const q = semicolon === -1 ? 1 : readQ(element.slice(semicolon + 1))
  return q === undefined ? undefined : { type, subtype, q, order }
}

/**
 * The first `q` parameter's value, clamped to [0, 1]; 1 without one (or with an empty `q=`, which
 * says nothing); undefined when it is not a number (the element is then skipped).
 */
function readQ (parameters: string): number | undefined {
  for (const parameter of parameters.split(';')) {
    const equals = parameter.indexOf('=')
    if (equals === -1 || trimOws(parameter.slice(0, equals)).toLowerCase() !== 'q') continue
    const text = trimOws(parameter.slice(equals + 1))
    if (text === '') return 1
    const q = Number(text)
    return Number.isNaN(q) ? undefined : Math.min(1, Math.max(0, q))
  }
  return 1
}

/** Strips RFC 9110 optional whitespace (spaces and tabs only: a CR, LF or NUL makes the element invalid). */
function trimOws (text: string): string {
  let start = 0
  let end = text.length
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--
  return text.slice(start, end)
}
