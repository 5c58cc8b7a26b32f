/**
 * The check each plugin option's value gets, as the option table of lib/options.ts names them: each
 * returns the value normalised (fresh lists, a predicate for a list of statuses) or throws
 * `FFE_INVALID_OPTION` with a message that names the option, says what to write and shows what was
 * given (objects only by their kind: an options object may hold credentials).
 */
import type { FastifyBaseLogger } from 'fastify'
import { FFE_INVALID_OPTION } from './errors.js'
import { describe, shown } from './describe.js'
import { isHeaderName } from './headers.js'
import type { Level } from './log.js'
import type { FormatPolicy } from './negotiate.js'
import type { NotFoundHooks } from './options.js'
import type { RedactOptions } from './redact.js'
import type { Reporter } from './report.js'
import type { ReportContextFunction } from './report-context.js'

/** What a validator may look at besides its value: the other options given, NODE_ENV, the logger for warnings. */
export interface Reading {
  /** Every option of the registration, as given. */
  readonly given: Readonly<Record<string, unknown>>
  /** The environment NODE_ENV is read from. */
  readonly env: NodeJS.ProcessEnv
  /** Where a warning goes (the preview not mounted). */
  readonly log: FastifyBaseLogger
}

/** Largest delay `setTimeout` honours; above it Node fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647

/** A `reportWhen` predicate, as the reporting engine calls it. */
export type ReportPredicate = (status: number, error: unknown) => boolean

/** The `format` policies (lib/negotiate.ts). */
export const FORMATS: readonly FormatPolicy[] = ['negotiate', 'json', 'html']

/** pino's level names, and `'silent'`. */
export const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** A validator for one of `allowed` names. */
export function oneOf<T extends string> (allowed: readonly T[]): (value: unknown, name: string) => T {
  return (value, name) => {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw new FFE_INVALID_OPTION(`${name} must be one of ${allowed.join(', ')}, got ${shown(value)}`)
    }
    return value as T
  }
}

/** A validator for `true` or `false`. */
export function readBoolean (value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new FFE_INVALID_OPTION(`${name} must be true or false, got ${shown(value)}`)
  return value
}

/** A validator for an integer from 1 to `max`: timers (`max` is what `setTimeout` honours) and counts. */
export function positiveInteger (max: number, what: string): (value: unknown, name: string) => number {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      throw new FFE_INVALID_OPTION(`${name} must be ${what} from 1 to ${max}, got ${shown(value)}`)
    }
    return value
  }
}

/** NODE_ENV values (trimmed, any case) under which debug mode and the preview may run; unset counts too. */
const DEVELOPMENT_ENVS = new Set(['', 'development', 'test'])
/** The rule, as refusals and warnings state it. */
const DEVELOPMENT_RULE = 'only where NODE_ENV is unset, "development" or "test" (any case, spaces ignored)'

/**
 * Where debug mode and the preview may not run: a description of NODE_ENV, or undefined where they
 * may. Fails closed: anything but a development value counts as a deployment, so that `'production '`
 * (what `set NODE_ENV=production && node app` gives on Windows), `'Production'`, `'prod'` or `'staging'`
 * cannot turn a debug page on by accident the way an exact `=== 'production'` test would.
 */
function deployment (env: NodeJS.ProcessEnv): string | undefined {
  const value = env.NODE_ENV
  return value === undefined || DEVELOPMENT_ENVS.has(value.trim().toLowerCase()) ? undefined : `NODE_ENV is ${JSON.stringify(value)}`
}

/**
 * Debug mode shows stacks, source lines and request headers: never on a deployed server by accident.
 * `debug: 'force'` is the explicit override (a staging box that runs with NODE_ENV=production).
 */
export function readDebug (value: unknown, name: string, { env }: Reading): boolean {
  if (value !== true && value !== false && value !== 'force') {
    throw new FFE_INVALID_OPTION(`debug must be true, false or 'force', got ${shown(value)}`)
  }
  const deployed = value === true ? deployment(env) : undefined
  if (deployed !== undefined) {
    throw new FFE_INVALID_OPTION(`debug: true is refused because ${deployed}: ` +
      'the debug page shows stacks, source lines and request headers, ' +
      `so it runs ${DEVELOPMENT_RULE}; use debug: 'force' to turn it on anyway`)
  }
  return value !== false
}

/** A folder under the view root: relative, inside it (no `..`), or `false`. */
export function readTemplates (value: unknown): string | false {
  if (value === false) return false
  const folder = typeof value === 'string' ? value.split(/[\\/]+/).filter((part) => part !== '' && part !== '.').join('/') : ''
  if (folder === '' || folder.trim() !== folder) {
    throw new FFE_INVALID_OPTION(
      `templates must name a folder under the @fastify/view root (e.g. 'errors') or be false, got ${shown(value)}`
    )
  }
  if (/^([\\/]|[A-Za-z]:)/.test(value as string) || folder.split('/').includes('..')) {
    throw new FFE_INVALID_OPTION('templates must be a folder inside the @fastify/view root, not an absolute path or one that leaves it, ' +
      `got ${shown(value)}`)
  }
  return folder
}

/** `report`: the reporters as a list, `null`/`undefined` entries (a reporter switched off) left out. */
export function readReporters (value: unknown): Reporter[] {
  const list: unknown[] = Array.isArray(value) ? value : [value]
  const reporters: Reporter[] = []
  for (const item of list) {
    if (item === undefined || item === null) continue
    if (typeof item !== 'function') {
      const got = Array.isArray(value) ? `a list containing ${shown(item)}` : shown(value)
      throw new FFE_INVALID_OPTION(`report must be a function or a list of functions, got ${got}`)
    }
    reporters.push(item as Reporter)
  }
  return reporters
}

/** `reportContext`: a function `(request, error)` returning the fields (or a promise of them). */
export function readReportContext (value: unknown): ReportContextFunction {
  if (typeof value !== 'function') {
    throw new FFE_INVALID_OPTION('reportContext must be a function (request, error) => ({ userId: request.user?.id }) ' +
      `returning a plain object (or a promise of one), got ${shown(value)}`)
  }
  return value as ReportContextFunction
}

/** `reportWhen`: a predicate as given, or a list of statuses made into one. */
export function readReportWhen (value: unknown): ReportPredicate {
  if (typeof value === 'function') return value as ReportPredicate
  const isStatus = (status: unknown): boolean => Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 599
  const bad = Array.isArray(value) ? (value as unknown[]).find((status) => !isStatus(status)) : value
  if (!Array.isArray(value) || bad !== undefined) {
    throw new FFE_INVALID_OPTION('reportWhen must be a list of HTTP status codes (integers 100-599) ' +
      'or a function (status, error) => boolean, ' +
      `got ${Array.isArray(value) ? `a list containing ${shown(bad)}` : shown(value)}`)
  }
  const statuses = new Set<number>(value as number[])
  return (status) => statuses.has(status)
}

/**
 * The `redact` option: `{ headers?, query? }`, each a list of names (strings, whole names) or RegExps.
 * Returns fresh lists, so a later change to the caller's arrays cannot change what is masked.
 */
export function readRedact (value: unknown): RedactOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof RegExp) {
    throw new FFE_INVALID_OPTION(`redact must be an object { headers?: [...], query?: [...] } of names to mask, got ${shown(value)}`)
  }
  const out: RedactOptions = {}
  for (const key of Object.keys(value)) {
    if (key !== 'headers' && key !== 'query') throw new FFE_INVALID_OPTION(`redact takes headers and query, got unknown key "${key}"`)
    out[key] = redactNames((value as Record<string, unknown>)[key], key)
  }
  return out
}

/** One list of names to mask: strings (header names must be RFC 9110 tokens) or RegExps. */
function redactNames (list: unknown, key: 'headers' | 'query'): Array<string | RegExp> {
  const example = key === 'headers' ? "['x-internal-key', /^x-acme-/]" : "['otp', /^sso_/]"
  if (list === undefined) return []
  if (!Array.isArray(list)) {
    throw new FFE_INVALID_OPTION(`redact.${key} must be a list of names or RegExps, e.g. ${example}, got ${shown(list)}`)
  }
  for (const item of list as unknown[]) {
    if (item instanceof RegExp) continue
    if (typeof item !== 'string' || item === '') {
      const got = item === '' ? 'an empty string' : describe(item)
      throw new FFE_INVALID_OPTION(`redact.${key} must list non-empty strings or RegExps, e.g. ${example}, got ${got}`)
    }
    if (key === 'headers' && !isHeaderName(item)) {
      throw new FFE_INVALID_OPTION(`redact.headers: ${JSON.stringify(item)} is not a header name ` +
        "(letters, digits and !#$%&'*+.^_`|~- only); use a RegExp to match part of a name")
    }
  }
  return [...list as Array<string | RegExp>]
}

/**
 * The `preview` option: a route path such as `'/_errors'` (`false` is off). The preview answers any
 * status on demand, so it is mounted only where debug mode could run (or with `debug: 'force'` in
 * the same options). Elsewhere it is not mounted, with a warning, rather than refused: a development
 * config that reaches a deployment must neither crash it nor expose anything.
 */
export function readPreview (value: unknown, name: string, { given, env, log }: Reading): string | undefined {
  if (value === false) return undefined
  if (typeof value !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(value)) {
    throw new FFE_INVALID_OPTION("preview must be a path such as '/_errors' (letters, digits, . _ ~ - between slashes) or false, " +
      `got ${shown(value)}`)
  }
  const deployed = given.debug === 'force' ? undefined : deployment(env)
  if (deployed !== undefined) {
    log.warn(`preview ${JSON.stringify(value)} is not mounted because ${deployed}: the error page preview runs ${DEVELOPMENT_RULE}; ` +
      "give debug: 'force' in the same registration to mount it anyway")
    return undefined
  }
  return value
}

const NOT_FOUND_HOOK_NAMES = new Set(['preValidation', 'preHandler'])

/**
 * The `notFoundHooks` option: `{ preValidation?, preHandler? }`, each a hook function or a list of
 * them. Returns fresh lists, so a later change to the caller's arrays cannot change what runs; a
 * wrong value fails here, at startup, not on the first unknown URL.
 */
export function readNotFoundHooks (value: unknown): NotFoundHooks {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'a list (say where its hooks run: { preHandler: [...] })' : shown(value)
    throw new FFE_INVALID_OPTION('notFoundHooks must be an object { preValidation?, preHandler? } of route hooks, ' +
      `e.g. { preHandler: app.rateLimit() }, got ${got}`)
  }
  const out: Record<string, unknown[]> = {}
  for (const [name, hooks] of Object.entries(value as Record<string, unknown>)) {
    if (!NOT_FOUND_HOOK_NAMES.has(name)) {
      throw new FFE_INVALID_OPTION(`notFoundHooks takes preValidation and preHandler, got unknown key "${name}" ` +
        '(other hooks: app.addHook in the context, which covers its 404s too)')
    }
    if (hooks === undefined) continue
    const list: unknown[] = Array.isArray(hooks) ? hooks : [hooks]
    const bad = list.findIndex((hook) => typeof hook !== 'function')
    if (bad !== -1) {
      throw new FFE_INVALID_OPTION(`notFoundHooks.${name} must be a hook function (request, reply, done) or async (request, reply), ` +
        'or a list of them, ' +
        `got ${Array.isArray(hooks) ? `a list holding ${describe(list[bad])}` : describe(hooks)}`)
    }
    out[name] = [...list]
  }
  return out as NotFoundHooks
}
