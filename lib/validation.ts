/**
 * Fastify's validation details (`error.validation`, Ajv's error objects) as they may leave the
 * process: in error bodies, problem details, pages and the plugin's log lines alike.
 */
import { isPlainObject } from './thrown.js'

/**
 * The most validation entries a body carries. Fastify's Ajv stops at the first failure unless
 * `allErrors` is set; with it, a hostile body (an array of a thousand wrong items) would otherwise
 * make a response a thousand entries long. The message still names every failure.
 */
const MAX_VALIDATION_ENTRIES = 100
/** How deep, how wide and how long `params` values may be (Ajv's own are one or two levels, short). */
const PARAMS_DEPTH = 4
const PARAMS_ENTRIES = 32
const PARAMS_STRING = 256
/**
 * Ajv's `verbose: true` members. They are never copied, not even from inside `params` (ajv-errors'
 * `errorMessage` keyword puts the original errors, verbose members included, in `params.errors`):
 * `data` is the validated value itself — for a headers schema, every request header, Cookie and
 * Authorization included — and `schema`/`parentSchema` are the application's schema.
 */
const VERBOSE_MEMBERS = new Set(['data', 'schema', 'parentSchema'])

/**
 * Fastify's validation details as they may leave the process: an array of error objects with only
 * the members Ajv documents for every error (`instancePath`, `schemaPath`, `keyword`, `params`,
 * `message`), each copied only when it has Ajv's type, `params` as bounded JSON data. Anything else
 * a validator put there (Ajv's verbose `data`, a custom compiler's own fields) stays in the process:
 * handlers still get the error itself. Undefined when the details are not an array.
 */
export function readValidation (error: unknown): Array<Record<string, unknown>> | undefined {
  try {
    const validation = (error as { validation?: unknown }).validation
    if (!Array.isArray(validation)) return undefined
    const entries: Array<Record<string, unknown>> = []
    const count = Math.min(validation.length, MAX_VALIDATION_ENTRIES)
    // An entry that is not an object becomes `{}`, so entry i still matches failure i of the message.
    for (let i = 0; i < count; i++) entries.push(ajvError(validation[i]))
    return entries
  } catch {
    // A throwing getter or Proxy trap anywhere in the details: they are left out; the message
    // (written by Fastify from the same details) still says what failed.
    return undefined
  }
}

/** One Ajv error object reduced to its documented members. */
function ajvError (item: unknown): Record<string, unknown> {
  const entry: Record<string, unknown> = {}
  if (!isPlainObject(item)) return entry
  for (const key of ['instancePath', 'schemaPath', 'keyword'] as const) {
    if (typeof item[key] === 'string') entry[key] = item[key]
  }
  if (isPlainObject(item.params)) entry.params = jsonData(item.params, PARAMS_DEPTH)
  if (typeof item.message === 'string') entry.message = item.message
  return entry
}

/**
 * `value` as JSON data: strings (cut to PARAMS_STRING), finite numbers, booleans, null, arrays and
 * plain objects (at most PARAMS_ENTRIES entries, `depth` levels). Anything else (a function, a BigInt,
 * a class instance, a cycle past the depth) is left out; undefined means "leave this member out".
 */
function jsonData (value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') return value.length > PARAMS_STRING ? `${value.slice(0, PARAMS_STRING)}…` : value
  if (depth === 0) return undefined
  if (Array.isArray(value)) {
    const items: unknown[] = []
    for (let i = 0; i < value.length && items.length < PARAMS_ENTRIES; i++) {
      const item = jsonData(value[i], depth - 1)
      if (item !== undefined) items.push(item)
    }
    return items
  }
  if (!isPlainObject(value)) return undefined
  // A null-prototype object: a member named `__proto__` stays a member, as JSON.parse would make it.
  const members = Object.create(null) as Record<string, unknown>
  let taken = 0
  for (const key of Object.keys(value)) {
    if (taken === PARAMS_ENTRIES) break
    if (VERBOSE_MEMBERS.has(key)) continue
    const member = jsonData(value[key], depth - 1)
    if (member === undefined) continue
    members[key] = member
    taken++
  }
  return members
}
