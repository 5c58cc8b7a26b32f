/**
 * Per-context handler tables, key validation and the lookup order (README "Registering handlers" and
 * "Lookup order").
 *
 * A Fastify child context is created with `Object.create(parent)`, so an instance's prototype chain
 * *is* its scope chain: a plugin registered with a prefix (Fastify's blueprint) sees its own
 * handlers first, then its parents' up to the root, as a Flask blueprint sees its own, then the app's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HTTPException, isStatusClass, statusClasses } from './exceptions.js'
import { FFE_DECORATOR_TAKES_KEY_ONLY, FFE_INVALID_HANDLER, FFE_INVALID_KEY } from './errors.js'
import type { ThrownFacts } from './thrown.js'

/** An error handler as the registry stores it. */
export type StoredHandler = (this: FastifyInstance, error: any, request: FastifyRequest, reply: FastifyReply) => unknown

/** A registered handler and the context it belongs to. */
export interface HandlerEntry {
  readonly handler: StoredHandler
  readonly instance: FastifyInstance
  /** How the key reads in logs: `404`, `NotFound`, `'FST_ERR_VALIDATION'`, `InvalidAPIUsage`. */
  readonly label: string
}

/** A normalised registration key. */
export type NormalizedKey =
  | { readonly kind: 'status', readonly status: number }
  | { readonly kind: 'code', readonly code: string }
  | { readonly kind: 'class', readonly prototype: object, readonly name: string }
  | { readonly kind: 'generic', readonly which: 'HTTPException' | 'Error' }

/**
 * Tables keyed the four ways a key can be written, each holding what its key finds: the handler
 * tables of a context, and the per-error log levels (lib/log-levels.ts), which are looked up in
 * the same order so that a key means the same thing in both.
 */
export class Table<Entry> {
  /** Phase 1: specific classes, keyed by prototype so a reassigned `constructor` cannot fool it. */
  readonly classes = new Map<object, Entry>()
  /** Phase 2: string error codes. */
  readonly codes = new Map<string, Entry>()
  /** Phase 3: statuses (a status class registers here: `404` ≡ `NotFound`). */
  readonly statuses = new Map<number, Entry>()
  /** Phase 4: the generic bases. */
  readonly generic: { HTTPException?: Entry, Error?: Entry } = {}
}

/** The handler tables of one encapsulation context. */
export class Scope<Options extends object = object> extends Table<HandlerEntry> {
  /** Options given to this context (`app.register(flaskErrors, {...})` inside it). */
  options: Partial<Options> = {}

  constructor (readonly instance: FastifyInstance) {
    super()
  }
}

/** Turns a user's key into a table slot, or throws an error that says the fix. */
export function normalizeKey (key: unknown): NormalizedKey {
  if (typeof key === 'number') return statusKey(key)
  if (typeof key === 'string') return codeKey(key)
  if (typeof key === 'function') return classKey(key)
  if (typeof key === 'object' && key !== null) {
    const name = (key as { constructor?: { name?: unknown } }).constructor?.name
    const named = typeof name === 'string'
    throw new FFE_INVALID_KEY(`an instance${named ? ` of ${name}` : ''}: register the class itself, ` +
      `e.g. errorhandler(${named ? name : 'MyError'})`)
  }
  throw new FFE_INVALID_KEY(`${String(key)} (${typeof key}): use an HTTP error status (400–599), an error class or an error code string`)
}

function statusKey (status: number): NormalizedKey {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new FFE_INVALID_KEY(`status ${status}: only HTTP error statuses 400–599 have handlers`)
  }
  if (!statusClasses.has(status)) {
    throw new FFE_INVALID_KEY(`status ${status}: it has no class; ` +
      `declare one (class MyError extends HTTPException { static code = ${status} }) and register that class`)
  }
  return { kind: 'status', status }
}

/**
 * A string key is an error code, except shapes that are a status or a status range written as text:
 * `error.code` is never `'404'` or `'4xx'`, so such a handler would never run. Only three characters
 * are refused: longer numeric codes are real (PostgreSQL's SQLSTATE `'23505'` is `error.code` in pg).
 */
function codeKey (key: string): NormalizedKey {
  if (key === '') throw new FFE_INVALID_KEY('an empty string: an error code key is a non-empty string such as \'FST_ERR_VALIDATION\'')
  if (/^[0-9]{3}$/.test(key)) {
    const status = Number(key)
    throw new FFE_INVALID_KEY(status >= 400 && status <= 599
      ? `'${key}' (a string): a status key is a number; use the number ${status}: errorhandler(${status})`
      : `'${key}' (a string): a status key is a number, and only HTTP error statuses 400–599 have handlers`)
  }
  if (/^[45]xx$/i.test(key)) {
    throw new FFE_INVALID_KEY(`'${key}': there are no status range keys; register HTTPException (every HTTP error) or each status`)
  }
  return { kind: 'code', code: key }
}

/**
 * Classes no thrown value is ever matched by. The lookup walks a value's prototype chain below
 * `Object.prototype`, so `Object` is never in it; and a thrown string, number, boolean, symbol or
 * bigint is a primitive, which has no chain at all (only a boxed `new String('x')` would have one).
 * Such a value, like a plain object, becomes a 500 whose `originalError` is the value.
 */
const NEVER_MATCHED = new Map<unknown, string>([
  [String, 'a thrown string'], [Number, 'a thrown number'], [Boolean, 'a thrown boolean'],
  [Symbol, 'a thrown symbol'], [BigInt, 'a thrown bigint']
])

function classKey (cls: Function): NormalizedKey {
  if (cls === Object) {
    throw new FFE_INVALID_KEY('Object: no thrown value is looked up by Object (the lookup walks the classes below it), ' +
      'so this handler would never run; to handle everything, register Error (every error object) and 500 ' +
      '(thrown primitives and plain objects become a 500 whose originalError is the value)')
  }
  const primitive = NEVER_MATCHED.get(cls)
  if (primitive !== undefined) {
    throw new FFE_INVALID_KEY(`${cls.name}: ${primitive} is a primitive, not an instance of ${cls.name}, ` +
      'so this handler would never run; ' +
      'thrown primitives become a 500 whose originalError is the value: register 500 (or Error) and read error.originalError')
  }
  if (cls === HTTPException) return { kind: 'generic', which: 'HTTPException' }
  if (cls === Error) return { kind: 'generic', which: 'Error' }
  if (isStatusClass(cls)) return { kind: 'status', status: cls.code }
  // Own property only: a bound class has none and would otherwise inherit its base's (`Error.prototype`
  // for `MyError.bind(null)`), turning it into a phase-1 handler for every error.
  const prototype = Object.hasOwn(cls, 'prototype') ? (cls as { prototype?: unknown }).prototype : undefined
  if (typeof prototype !== 'object' || prototype === null) {
    const what = cls.name === '' ? 'an anonymous function' : cls.name
    throw new FFE_INVALID_KEY(`${what} without a prototype: pass an error class (class MyError extends Error {}), not an arrow function`)
  }
  return { kind: 'class', prototype, name: cls.name === '' ? '<anonymous class>' : cls.name }
}

/** How a normalised key reads in logs and messages: `404`, `'FST_ERR_VALIDATION'`, `PaymentRequired`. */
export function labelOf (key: NormalizedKey): string {
  switch (key.kind) {
    case 'status': return String(key.status)
    case 'code': return `'${key.code}'`
    case 'class': return key.name
    case 'generic': return key.which
  }
}

/** Puts `handler` in `scope`'s table for `key`; a later registration of the same key wins, as in Flask. */
export function addHandler (scope: Scope, key: NormalizedKey, handler: unknown): HandlerEntry {
  if (typeof handler !== 'function') {
    throw new FFE_INVALID_HANDLER(handler === null ? 'null' : typeof handler)
  }
  const entry: HandlerEntry = { handler: handler as StoredHandler, instance: scope.instance, label: labelOf(key) }
  put(scope, key, entry)
  return entry
}

/** Puts `entry` in `table`'s slot for `key`, replacing what was there (a later key wins). */
export function put<Entry> (table: Table<Entry>, key: NormalizedKey, entry: Entry): void {
  switch (key.kind) {
    case 'status': table.statuses.set(key.status, entry); break
    case 'code': table.codes.set(key.code, entry); break
    case 'class': table.classes.set(key.prototype, entry); break
    case 'generic': table.generic[key.which] = entry; break
  }
}

/** Entries that were already used for this request; the lookup passes over them (no handler runs twice). */
export type Tried<Entry = HandlerEntry> = ReadonlySet<Entry>

const NONE_TRIED: Tried<never> = new Set()

/**
 * The four-phase lookup over `chain` (innermost table first): specific classes, then the string
 * code, then the status, then `HTTPException` and `Error`. Within a phase the inner table wins, as
 * Flask's `_find_error_handler` walks blueprint then app. In the code phase the error's own code is
 * looked up in every table before its cause's: the error's own code is the more specific statement
 * (`FST_REPLY_FROM_INTERNAL_SERVER_ERROR` before the `ECONNREFUSED` it wraps).
 */
export function findEntry<Entry> (chain: readonly Table<Entry>[], facts: ThrownFacts, tried: Tried<Entry> = NONE_TRIED): Entry | undefined {
  const { prototypes, code, causeCode, status } = facts
  for (const table of chain) {
    if (table.classes.size === 0) continue
    for (const proto of prototypes) {
      const entry = usable(table.classes.get(proto), tried)
      if (entry !== undefined) return entry
    }
  }
  const byCode = findCode(chain, code, tried) ?? findCode(chain, causeCode, tried)
  if (byCode !== undefined) return byCode
  if (status !== undefined) {
    for (const table of chain) {
      const entry = usable(table.statuses.get(status), tried)
      if (entry !== undefined) return entry
    }
  }
  return findGeneric(chain, prototypes, tried)
}

/** The handler for an error in a context's scope chain: {@link findEntry} over handler tables. */
export const findHandler: (chain: readonly Scope[], facts: ThrownFacts, tried?: Tried) => HandlerEntry | undefined = findEntry

function findCode<Entry> (chain: readonly Table<Entry>[], code: string | undefined, tried: Tried<Entry>): Entry | undefined {
  if (code === undefined) return undefined
  for (const table of chain) {
    const entry = usable(table.codes.get(code), tried)
    if (entry !== undefined) return entry
  }
  return undefined
}

/**
 * `errorhandler(key, handler)`: Flask's decorator takes only the key, and the handler passed beside
 * it would be dropped without a word (the decorator it returns is never called).
 */
export function refuseSecondArgument (key: unknown): never {
  const shown = keyAsWritten(key)
  throw new FFE_DECORATOR_TAKES_KEY_ONLY(`app.errorhandler(${shown})(fn), or app.register_error_handler(${shown}, fn)`)
}

/** How `key` reads in code, for a message that shows the corrected call. */
function keyAsWritten (key: unknown): string {
  if (typeof key === 'number') return String(key)
  if (typeof key === 'string') return `'${key}'`
  if (typeof key === 'function' && key.name !== '') return key.name
  return 'key'
}

function findGeneric<Entry> (chain: readonly Table<Entry>[], prototypes: readonly object[], tried: Tried<Entry>): Entry | undefined {
  const isHttp = prototypes.includes(HTTPException.prototype)
  const isError = isHttp || prototypes.includes(Error.prototype)
  if (!isError) return undefined
  for (const table of chain) {
    const entry = (isHttp ? usable(table.generic.HTTPException, tried) : undefined) ?? usable(table.generic.Error, tried)
    if (entry !== undefined) return entry
  }
  return undefined
}

function usable<Entry> (entry: Entry | undefined, tried: Tried<Entry>): Entry | undefined {
  return entry !== undefined && !tried.has(entry) ? entry : undefined
}

/** The scope chain of one context, innermost first, with the options in force there. */
export interface Resolved<Options extends object> {
  readonly chain: readonly Scope<Options>[]
  readonly options: Readonly<Options>
}

/**
 * How an option given in a context combines with the value of the enclosing contexts: replaced, as
 * every option is by default, or, for the options named here, layered over it (a per-error table
 * that adds to its parents' the way handlers do). `inner` is the context's own value, `outer` what
 * the enclosing contexts and the defaults resolved to.
 */
export type Layering<Options> = { readonly [K in keyof Options]?: (inner: Options[K], outer: Options[K]) => Options[K] }

/**
 * All scopes of one application. Scopes are made when a context first registers a handler or
 * options; chains are resolved on first use and cached until a registration changes them.
 */
export class Registry<Options extends object> {
  readonly #scopes = new WeakMap<object, Scope<Options>>()
  readonly #resolved = new WeakMap<object, Resolved<Options> & { generation: number }>()
  #generation = 0

  constructor (readonly defaults: Readonly<Options>, readonly layering: Layering<Options> = {}) {}

  /** The scope of `instance`, made on first use. */
  scope (instance: FastifyInstance): Scope<Options> {
    let scope = this.#scopes.get(instance)
    if (scope === undefined) {
      scope = new Scope<Options>(instance)
      this.#scopes.set(instance, scope)
      this.#generation++
    }
    return scope
  }

  /** Sets the options of `instance`'s own scope (later calls merge over earlier ones). */
  configure (instance: FastifyInstance, options: Partial<Options>): void {
    const scope = this.scope(instance)
    scope.options = { ...scope.options, ...options }
    this.#generation++
  }

  /** The scope chain and effective options for a context (a route's or a not-found handler's). */
  resolve (instance: FastifyInstance): Resolved<Options> {
    const cached = this.#resolved.get(instance)
    if (cached !== undefined && cached.generation === this.#generation) return cached
    const chain: Scope<Options>[] = []
    for (let object: object | null = instance; object !== null; object = Object.getPrototypeOf(object) as object | null) {
      const scope = this.#scopes.get(object)
      if (scope !== undefined) chain.push(scope)
    }
    const options = { ...this.defaults }
    for (let i = chain.length - 1; i >= 0; i--) this.#merge(options, chain[i].options)
    const resolved = { chain, options, generation: this.#generation }
    this.#resolved.set(instance, resolved)
    return resolved
  }

  /** Merges one context's given options over `options` (undefined counts as not given). */
  #merge (options: Options, given: Partial<Options>): void {
    for (const key of Object.keys(given) as (keyof Options)[]) {
      const value = given[key]
      if (value === undefined) continue
      const layer = this.layering[key]
      options[key] = layer === undefined ? value : layer(value, options[key])
    }
  }
}
