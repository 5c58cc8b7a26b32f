/**
 * Per-error log levels: the `logLevels` option read into lookup tables at registration, and the one
 * lookup that picks a line's level on the error path. A table is keyed exactly as handlers are (a
 * status, a status class, an error class, an error code) and searched in the handlers' order, inner
 * context first (lib/registry.ts): a key means the same thing to `errorhandler` and to `logLevels`.
 *
 * Flask's `log_exception` logs every unhandled error at `error` and nothing else; an app behind a
 * public URL also answers 4xx all day (validation errors, bots probing URLs), which are the client's
 * business, so they have their own default and may be lowered or silenced one kind at a time.
 */
import { FFE_INVALID_KEY, FFE_INVALID_OPTION } from './errors.js'
import { shown } from './describe.js'
import type { Level } from './log.js'
import { LEVELS, oneOf } from './option-checks.js'
import { Table, findEntry, labelOf, normalizeKey, put } from './registry.js'
import type { NormalizedKey } from './registry.js'
import { isPlainObject } from './thrown.js'
import type { ThrownFacts } from './thrown.js'
import type { ErrorKey } from '../types/augment.js'

/**
 * `logLevels`: a `Map`, or a list of `[key, level]` pairs (what `new Map()` takes), holds any key
 * `errorhandler` takes; a plain object holds status digits (`404`) and error codes
 * (`FST_ERR_VALIDATION`), since a class cannot be an object key. In TypeScript the list needs no
 * type arguments, where a `Map` does (`new Map<ErrorKey, LogLevel>(…)`): without them TypeScript
 * infers `string` levels and the first entry's key type.
 * @example
 * { FST_ERR_VALIDATION: 'silent', 404: 'debug' }
 * [[PaymentRequired, 'warn'], [ServiceUnavailable, 'warn'], ['FST_ERR_VALIDATION', 'silent']]
 */
export type LogLevelTable =
  | ReadonlyMap<ErrorKey, Level>
  | ReadonlyArray<readonly [ErrorKey, Level]>
  | { readonly [key: string]: Level }

/** `logLevels` as read: its table, or (resolved) the tables of a context's scope chain, innermost first. */
export type LevelTables = readonly Table<Level>[]

/** `logLevels` where no registration gives it. */
export const NO_TABLES: LevelTables = Object.freeze([])

/** A 5xx no entry names is a bug: `error`, as Flask's `log_exception` logs it. */
const SERVER_ERROR_LEVEL: Level = 'error'

/** A status range written as text: the registry refuses it as a key, and so does this option, with its own fix. */
const STATUS_RANGE = /^[45]xx$/i

const readLevel = oneOf(LEVELS)

/** How `logLevels` must look, for the messages. */
const TABLE_SHAPE = 'a Map or a list of [key, level] pairs (keys as errorhandler takes them), ' +
  'or a plain object from statuses and error codes to levels'

/**
 * `logLevel`'s reader: one level. A table given here (JavaScript does not see the type) is sent to
 * `logLevels`: the two are apart because Fastify's own register option `logLevel` is typed as one
 * level, so a table under that name would not compile in TypeScript.
 */
export function readLogLevel (value: unknown, name: string): Level {
  if (value instanceof Map || Array.isArray(value) || isPlainObject(value)) {
    throw new FFE_INVALID_OPTION(`${name} is the level of every 4xx no logLevels entry names, one of ${LEVELS.join(', ')}; ` +
      "per-error levels go in logLevels: { FST_ERR_VALIDATION: 'silent' } or [[MyError, 'warn']]")
  }
  return readLevel(value, name)
}

/**
 * `logLevels`' reader: the table, resolved here, once, into the registry's key slots. Throws
 * `FFE_INVALID_OPTION` naming the entry and the fix.
 */
export function readLogLevels (value: unknown, name: string): LevelTables {
  let entries: Iterable<readonly [unknown, unknown]>
  if (value instanceof Map) entries = value
  else if (Array.isArray(value)) entries = value.map((pair: unknown, i) => listEntry(pair, i, name))
  else if (isPlainObject(value)) entries = Object.entries(value).map(([key, level]) => [objectKey(key, name), level] as const)
  else {
    throw new FFE_INVALID_OPTION(`${name} must be ${TABLE_SHAPE}, got ${shown(value)}` +
      (typeof value === 'string' ? `; for every 4xx, give logLevel: ${shown(value)}` : ''))
  }
  const table = new Table<Level>()
  for (const [key, level] of entries) {
    const slot = entryKey(key, name)
    put(table, slot, readLevel(level, `${name}[${labelOf(slot)}]`))
  }
  // An empty table is no table: the error path then runs no lookup at all.
  const empty = table.classes.size === 0 && table.codes.size === 0 && table.statuses.size === 0
  return empty ? NO_TABLES : [table]
}

/** One `[key, level]` pair of a list, as `new Map()` would read it, or a refusal that says so. */
function listEntry (pair: unknown, index: number, name: string): readonly [unknown, unknown] {
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new FFE_INVALID_OPTION(`${name}[${index}] must be a [key, level] pair such as [404, 'debug'], got ${shown(pair)}`)
  }
  return [pair[0], pair[1]]
}

/**
 * A plain object's key, always a string: three digits are a status (`{ 404: 'debug' }`, which
 * JavaScript stores as `'404'`), anything else an error code, as the registry reads a string key
 * (so SQLSTATE `'23505'` stays a code).
 */
function objectKey (key: string, name: string): unknown {
  if (/^[0-9]{3}$/.test(key)) return Number(key)
  // A class or an object written as a computed key (`{ [PaymentRequired]: 'warn' }`) becomes its
  // source text or "[object Object]": a code that no error carries, so the entry would never match.
  if (/\s/.test(key)) {
    throw new FFE_INVALID_OPTION(`${name} has the key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}: ` +
      'an error code has no spaces, and a class used as an object key becomes its source text; ' +
      "give classes in a list of pairs or a Map: [[MyError, 'warn']]")
  }
  return key
}

/** A table key by the registry's rules, told in terms of this option; ranges and the generic bases are refused. */
function entryKey (key: unknown, name: string): NormalizedKey {
  if (typeof key === 'string' && STATUS_RANGE.test(key)) {
    throw new FFE_INVALID_OPTION(`${name} has the key '${key}': there are no range keys; every 4xx no entry names is logged ` +
      'at logLevel, every 5xx at error (it is a bug); to set one kind, name its status (503), its class or its error code')
  }
  let slot: NormalizedKey
  try {
    slot = normalizeKey(key)
  } catch (refusal) {
    // The registry's message says why the key can match nothing and how to write it; it speaks of
    // errorhandler, whose keys these are, so it is kept whole in this option's message.
    if (!(refusal instanceof FFE_INVALID_KEY)) throw refusal
    throw new FFE_INVALID_OPTION(`${name} keys are errorhandler keys, and this one is refused: ${refusal.message}`)
  }
  if (slot.kind === 'generic') {
    throw new FFE_INVALID_OPTION(`${name} has the key ${slot.which}, which would set the level of every error, 5xx bugs included: ` +
      'every 4xx no entry names is logged at logLevel; to set one kind, name its status, its class or its error code')
  }
  return slot
}

/**
 * How a context's `logLevels` combines with its parents': its table is searched first, then
 * theirs, as its handlers are (a child's `{ 404: 'debug' }` leaves the root's `FST_ERR_VALIDATION`
 * entry in force). Run once per resolved scope chain, not per request.
 */
export function layerLevels (inner: LevelTables, outer: LevelTables): LevelTables {
  return [...inner, ...outer]
}

/** The options that decide a line's level, as a context resolved them. */
export interface LevelOptions {
  readonly logLevel: Level
  readonly logLevels: LevelTables
  readonly notFoundLogLevel: Level | undefined
}

/**
 * The level of the line for an error answered with `status`. A routing 404/405 takes
 * `notFoundLogLevel` when it is set; otherwise an entry that names the error (class, code, cause
 * code, status: the handlers' order), even for a 5xx (an app may log `@fastify/under-pressure`'s
 * 503s at `warn`); otherwise 5xx at error and 4xx at `logLevel`. `facts` are the thrown value's own,
 * so a class entry names it even when it had no status and is answered as a 500.
 */
export function levelOf (options: LevelOptions, facts: ThrownFacts, status: number, routing: boolean): Level {
  if (routing && options.notFoundLogLevel !== undefined) return options.notFoundLogLevel
  if (options.logLevels.length > 0) {
    const entry = findEntry(options.logLevels, facts.status === status ? facts : { ...facts, status })
    if (entry !== undefined) return entry
  }
  return status >= 500 ? SERVER_ERROR_LEVEL : options.logLevel
}
