/**
 * Describing any value safely: what the plugin says about a thrown value, a refused option or an
 * error's cause chain in log lines, reports, mails and error messages. A thrown value can be anything
 * (a revoked Proxy, a null-prototype object, an error whose getters throw), and describing it must
 * never be what fails, so every reader here catches and says what it could not read.
 */

/**
 * `value instanceof Error`, without throwing: `instanceof` on a revoked Proxy (or one whose
 * `getPrototypeOf` trap throws) raises a TypeError, and describing a value must never be what fails.
 */
export function isError (value: unknown): value is Error {
  try {
    return value instanceof Error
  } catch {
    // Its prototype cannot be read: it is described as an unknown value.
    return false
  }
}

/** A short, never-throwing description of any value, for log lines and error messages; contents are never shown. */
export function describe (value: unknown): string {
  try {
    if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)
    if (typeof value === 'function') return `function ${value.name}`
    if (typeof value !== 'object' || value === null) return String(value)
    if (Array.isArray(value)) return `array(${value.length})`
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === 'string' && name !== '' ? `${name} object` : 'object'
  } catch {
    // Symbols and hostile proxies cannot always be printed; say so rather than fail the caller.
    return 'an unprintable value'
  }
}

/** Longest JSON of a list a message shows; a longer list is described by its length. */
const MAX_SHOWN_LIST = 200

/**
 * A refused value as an error message shows it after "got": as {@link describe}, except that a short
 * list is shown as its JSON (`["json"]`), so the caller sees which item was wrong. Objects are
 * described, never printed: an options object may hold credentials (an SMTP password).
 */
export function shown (value: unknown): string {
  if (!Array.isArray(value)) return describe(value)
  try {
    const json = JSON.stringify(value)
    return json.length <= MAX_SHOWN_LIST ? json : describe(value)
  } catch {
    // A BigInt or a cycle inside the list has no JSON form: its length still says what it was.
    return describe(value)
  }
}

/**
 * `String(value)` that survives what `String` alone does not (`String(Object.create(null))` throws): the
 * tag names the kind instead. It still throws for a revoked Proxy, on which even the tag cannot be
 * read; its callers catch that and say the value was unreadable (`errorMessage`).
 */
export function safeString (value: unknown): string {
  try {
    return String(value)
  } catch {
    // A toString that throws (or none, on a null-prototype object): the tag still names the kind.
    return Object.prototype.toString.call(value)
  }
}

/** The class name of a thrown value: `TypeError`, `Object`, `string`… */
export function errorClass (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value
  try {
    const ctor: unknown = (value as { constructor?: unknown }).constructor
    return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'Object'
  } catch {
    // A revoked Proxy or a throwing getter: a value that cannot be read is named by this instead.
    return 'Unreadable'
  }
}

/** The message of a thrown value; the value itself as a string when it is not an error. */
export function errorMessage (value: unknown): string {
  try {
    return isError(value) ? safeString(value.message) : safeString(value)
  } catch {
    // The message getter threw.
    return '(unreadable message)'
  }
}

/** Causes followed below an error at most: cause chains can be long, or cyclic (a.cause = b, b.cause = a). */
export const MAX_CAUSES = 8

/** An error's `cause` chain as {@link causeChain} walks it. */
export interface CauseChain {
  /** The value first, then its causes in order (at most `limit` of them). */
  readonly links: readonly unknown[]
  /**
   * Why the walk stopped: `end` (the last link has no cause), `loop` (its cause is a link already
   * taken), `cut` (more causes than the limit), `unreadable` (its `cause` getter threw).
   */
  readonly end: 'end' | 'loop' | 'cut' | 'unreadable'
}

/**
 * `value` and the errors along its `cause` (ES2022) chain, at most `limit` causes, stopping at the
 * first repeat. The one walk every describer of a chain uses (report log lines, snapshots, mails).
 */
export function causeChain (value: unknown, limit = MAX_CAUSES): CauseChain {
  const links: unknown[] = [value]
  let end: CauseChain['end'] | undefined
  do {
    const current = links[links.length - 1]
    let cause: unknown
    try {
      cause = isError(current) ? current.cause : undefined
    } catch {
      // A throwing `cause` getter ends the chain; the caller is told, and says so.
      end = 'unreadable'
      break
    }
    if (cause === undefined) end = 'end'
    else if (links.includes(cause)) end = 'loop'
    else if (links.length > limit) end = 'cut'
    else links.push(cause)
  } while (end === undefined)
  return { links, end }
}

/**
 * Plain-object form of an error and its `cause` chain, for log lines (pino serialises only the
 * `err` key as an error): type, message, stack, code, then the cause nested the same way.
 */
export function serializeError (value: unknown): Record<string, unknown> {
  const { links, end } = causeChain(value)
  let below: Record<string, unknown> | undefined
  for (let index = links.length - 1; index >= 0; index--) {
    const out = serializeOne(links[index])
    if (below !== undefined) out.cause = below
    else if (end === 'unreadable') out.unreadable = true
    below = out
  }
  return below as Record<string, unknown>
}

/** One link of {@link serializeError}, without its cause. */
function serializeOne (value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { type: errorClass(value), message: errorMessage(value) }
  if (!isError(value)) return out
  try {
    if (typeof value.stack === 'string') out.stack = value.stack
    const code = (value as { code?: unknown }).code
    if (code !== undefined) out.code = code
  } catch {
    // A getter threw: the fields read so far are what the log line gets.
    out.unreadable = true
  }
  return out
}
