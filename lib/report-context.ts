/**
 * A report's context: who was affected and where (a user id, a tenant, an order), which the request
 * summary cannot know. Two sources, merged into `report.context`: the errors' own `context()` method
 * (the convention of Laravel's exceptions, whose `context()` array its handler adds to every report of
 * them), then the app's `reportContext(request, error)` option (Laravel's handler-wide `context()`).
 * The app's fields win a clash: the app is what knows who the user is, and an error's fields may come
 * from a library or from input. Both are read when the report is scheduled, while the request is still
 * live (`request.user` is set), on the error path only, for errors that will be reported.
 *
 * Whatever they return is made safe here once: a copy bounded in keys, depth, string length and total
 * size, with fields whose names suggest a secret masked by the app's redaction policy, frozen (reporters
 * share it). A source that throws, rejects, hangs or returns anything but a plain object is logged in
 * one line and left out; the report goes out without it, and the response never waits for any of it.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { describe, errorClass, errorMessage, isError } from './describe.js'
import { MASK } from './redact.js'
import type { Redaction } from './redact.js'
import { cut, reportedFailure } from './report-identity.js'

/** A report context: plain fields, frozen. */
export type ReportContext = Readonly<Record<string, unknown>>

/** What a context source may give: a plain object, nothing (`null` / `undefined`), or a promise of either. */
export type ContextResult = Record<string, unknown> | null | undefined

/**
 * The `reportContext` option: called once per reported error (repeats included: a summary carries the
 * last one's), with the live request and the reported error; sync or async.
 */
export type ReportContextFunction = (request: FastifyRequest, error: unknown) => ContextResult | Promise<ContextResult>

/** A context when there is none. */
export const NO_CONTEXT: ReportContext = Object.freeze({})

/** Fields an object (or items a list) keeps; the rest are counted in a marker. */
const MAX_KEYS = 50
/** Levels of nesting kept below the context itself (`{ order: { lines: [{ sku }] } }` is 3). */
const MAX_DEPTH = 4
/** Characters a string value keeps. */
const MAX_STRING = 1024
/** Characters a field name keeps. */
const MAX_NAME = 128
/**
 * Characters the whole context may hold (names and values together; other values count 8): a dedupe
 * window holds one context per repeated error for the whole window, so its size must not depend on
 * what a source returned.
 */
const MAX_TOTAL = 8 * 1024
/** What a value that is not a string, or a field name, costs of `MAX_TOTAL` at least. */
const SCALAR_COST = 8

/** The name of the marker field that says what was left out of an object. */
export const CUT_FIELD = '…'

/** What is left of `MAX_TOTAL` while one context is copied. */
interface Budget { left: number }

/** A plain object (literal, `Object.create(null)`), not a class instance, a Map or a Proxy that cannot be read. */
function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  try {
    const proto: unknown = Object.getPrototypeOf(value)
    return proto === Object.prototype || proto === null
  } catch {
    // A Proxy whose getPrototypeOf trap throws: not something to walk.
    return false
  }
}

/** `value` as a reporter may keep it: bounded, masked by `name` at every level, frozen. */
function copy (value: unknown, depth: number, budget: Budget, redaction: Redaction): unknown {
  switch (typeof value) {
    case 'string': {
      const kept = cut(value, Math.min(MAX_STRING, Math.max(budget.left, 0)))
      budget.left -= Math.max(kept.length, SCALAR_COST)
      return kept
    }
    case 'number':
    case 'boolean':
      budget.left -= SCALAR_COST
      return value
    case 'bigint':
      // JSON has no BigInt: reporters that serialise the report (error services) would throw on it.
      return copy(`${value}`, depth, budget, redaction)
    case 'undefined':
      budget.left -= SCALAR_COST
      return undefined
    case 'object':
      if (value === null) {
        budget.left -= SCALAR_COST
        return null
      }
      return copyObject(value, depth, budget, redaction)
    default:
      // Functions and symbols: their description says what was there (`function getUser`).
      return copy(`[${describe(value)}]`, depth, budget, redaction)
  }
}

/** An object or a list, walked when it is plain (or a list) and within the depth; anything else by its description. */
function copyObject (value: object, depth: number, budget: Budget, redaction: Redaction): unknown {
  if (isError(value)) return copy(`${errorClass(value)}: ${errorMessage(value)}`, depth, budget, redaction)
  let list: boolean
  try {
    if (value instanceof Date) return copy(Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString(), depth, budget, redaction)
    list = Array.isArray(value)
  } catch {
    // A revoked Proxy (`instanceof` and Array.isArray throw on it), or a Proxy of a Date (its methods
    // throw on anything but a real Date): a value that cannot be read is shown as such.
    return copy('[unreadable]', depth, budget, redaction)
  }
  if (!list && !isPlainObject(value)) return copy(`[${describe(value)}]`, depth, budget, redaction)
  if (depth >= MAX_DEPTH) return copy(`[${list ? 'list' : 'object'} nested deeper than ${MAX_DEPTH} levels]`, depth, budget, redaction)
  return list
    ? copyList(value as unknown[], depth + 1, budget, redaction)
    : copyFields(value as Record<string, unknown>, depth + 1, budget, redaction)
}

/** A list's first items, then a marker item saying how many were left out. */
function copyList (list: readonly unknown[], depth: number, budget: Budget, redaction: Redaction): readonly unknown[] {
  const out: unknown[] = []
  let length: number
  try {
    length = list.length
  } catch {
    // A Proxy over a list whose traps throw.
    return Object.freeze(['[unreadable]'])
  }
  for (let index = 0; index < length; index++) {
    if (index >= MAX_KEYS || budget.left <= 0) {
      out.push(`…[${length - index} more items]`)
      break
    }
    out.push(copy(read(list, index), depth, budget, redaction))
  }
  return Object.freeze(out)
}

/**
 * An object's own enumerable fields, each masked by its name (the app's redaction policy) before its
 * value is looked at, then a marker field saying how many were left out.
 */
function copyFields (fields: Record<string, unknown>, depth: number, budget: Budget, redaction: Redaction): ReportContext {
  const out: Record<string, unknown> = {}
  let names: string[]
  try {
    names = Object.keys(fields)
  } catch {
    // A Proxy whose ownKeys trap throws.
    return Object.freeze({ [CUT_FIELD]: '[unreadable]' })
  }
  for (let index = 0; index < names.length; index++) {
    if (index >= MAX_KEYS || budget.left <= 0) {
      define(out, CUT_FIELD, `${names.length - index} more fields left out`)
      break
    }
    const name = names[index]
    const shown = cut(name, MAX_NAME)
    budget.left -= Math.max(shown.length, SCALAR_COST)
    // The name decides first: a secret's value is not even read (a getter could compute it).
    define(out, shown, copy(redaction.secretField(name) ? MASK : read(fields, name), depth, budget, redaction))
  }
  return Object.freeze(out)
}

/** `holder[key]`, or a marker when its getter throws. */
function read (holder: object, key: string | number): unknown {
  try {
    return (holder as Record<string | number, unknown>)[key]
  } catch {
    // A throwing getter: the field is shown as unreadable rather than failing the whole context.
    return '[unreadable]'
  }
}

/** Sets a field as data, so that a name such as `__proto__` is a field like any other. */
function define (target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
}

/** One source of context, named as its log lines name it. */
interface Source {
  /** `reportContext` or `PaymentError.context()`. */
  readonly name: string
  readonly call: () => unknown
}

/** Where a source's failure is said: the request's logger, with the request named as the app's policy masks it. */
interface Teller {
  readonly log: FastifyBaseLogger
  readonly request: FastifyRequest
  readonly redaction: Redaction
}

/** Logs one source's failure in one line, naming the source, the request and what the report does about it. */
function tell (teller: Teller, failure: unknown, message: string): void {
  const line = `${message}; the report of ${teller.redaction.line(teller.request)} goes out without it`
  if (failure === undefined) teller.log.error(line)
  else teller.log.error({ err: failure }, line)
}

/** The values whose `context()` method a report reads: for a failed handler, the error it handled, then its failure. */
function contextErrors (error: unknown): unknown[] {
  const failure = reportedFailure(error)
  return failure === error ? [error] : [(error as Error).cause, failure]
}

/** The `context` method of `value`, when it has one (a `context` that is data, not a method, is not the convention). */
function contextMethod (value: unknown): (() => unknown) | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  try {
    const method: unknown = (value as { context?: unknown }).context
    return typeof method === 'function' ? () => method.call(value) as unknown : undefined
  } catch {
    // A throwing `context` getter, or a revoked Proxy: the error has no context to give.
    return undefined
  }
}

/** Whether `value` is a promise or another thenable, without throwing. */
function isThenable (value: unknown): value is PromiseLike<unknown> {
  try {
    return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  } catch {
    // A throwing `then` getter: not a promise; the plain-object check that follows refuses it by name.
    return false
  }
}

/**
 * The report context of `error` on `request`: the errors' `context()` results, then the app's
 * `reportContext` over them, bounded, masked and frozen. Synchronous when every source is; when one
 * returns a promise, a promise that settles within `timeout` ms and never rejects (the reporters wait
 * for it, the response does not).
 */
export function gatherContext (
  reportContext: ReportContextFunction | undefined, error: unknown, request: FastifyRequest, redaction: Redaction, timeout: number
): ReportContext | Promise<ReportContext> {
  const sources: Source[] = []
  for (const value of contextErrors(error)) {
    const method = contextMethod(value)
    if (method !== undefined) sources.push({ name: `${errorClass(value)}.context()`, call: method })
  }
  if (reportContext !== undefined) sources.push({ name: 'reportContext', call: () => reportContext(request, error) })
  if (sources.length === 0) return NO_CONTEXT
  const teller: Teller = { log: request.log, request, redaction }
  const results = sources.map((source) => call(source, teller))
  if (!results.some(isThenable)) return merge(sources, results, teller)
  return settle(sources, results, teller, timeout)
}

/** Runs one source; a throw is logged and counts as no context. */
function call (source: Source, teller: Teller): unknown {
  try {
    return source.call()
  } catch (failure) {
    tell(teller, failure, `${source.name} threw`)
    return undefined
  }
}

/** The sources' results awaited, at most `timeout` ms in all, then merged; a source still running is left out. */
async function settle (sources: readonly Source[], results: readonly unknown[], teller: Teller, timeout: number): Promise<ReportContext> {
  const settled: unknown[] = results.map(() => undefined)
  const running = new Set(results.keys())
  const all = Promise.all(results.map(async (result, index) => {
    try {
      settled[index] = await result
    } catch (failure) {
      tell(teller, failure, `${sources[index].name} rejected`)
    }
    running.delete(index)
  }))
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeout) })
  await Promise.race([all, limit])
  clearTimeout(timer)
  for (const index of running) {
    // A promise cannot be cancelled; what it gives later is dropped (its rejection is still logged above).
    tell(teller, undefined, `${sources[index].name} did not settle within ${timeout} ms (reportTimeout)`)
  }
  return merge(sources, settled.map((value, index) => running.has(index) ? undefined : value), teller)
}

/** The sources' plain objects merged in order (later fields win), copied safely; anything else is logged and left out. */
function merge (sources: readonly Source[], results: readonly unknown[], teller: Teller): ReportContext {
  const merged: Record<string, unknown> = {}
  let any = false
  results.forEach((result, index) => {
    if (result === undefined || result === null) return
    if (!isPlainObject(result)) {
      tell(teller, undefined, `${sources[index].name} returned ${describe(result)}, not a plain object such as { userId: 42 }`)
      return
    }
    let names: string[]
    try {
      names = Object.keys(result)
    } catch (failure) {
      // A Proxy whose ownKeys trap throws.
      tell(teller, failure, `${sources[index].name} returned an object whose fields cannot be listed`)
      return
    }
    for (const name of names) define(merged, name, read(result, name))
    any = true
  })
  return any ? copyFields(merged, 0, { left: MAX_TOTAL }, teller.redaction) : NO_CONTEXT
}
