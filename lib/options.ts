/**
 * Plugin options: validated once at registration (a typo fails at startup, not on the first error),
 * split into what a context may set for itself and what belongs to the whole app.
 */
import type { FastifyBaseLogger, RouteShorthandOptions } from 'fastify'
import { FFE_INVALID_OPTION } from './errors.js'
import { describe } from './log.js'
import type { Level } from './log.js'
import type { FormatPolicy } from './negotiate.js'
import type { ReportOptions } from './report.js'
import type { RedactOptions } from './redact.js'
import { isHeaderName } from './headers.js'

/** Options a context can set for itself (`child.register(flaskErrors, { format: 'json' })`). */
export interface ContextOptions {
  /** Show the debug page/JSON with stack and cause chain; 500 handlers are skipped. Default false. */
  debug: boolean
  /** `negotiate` (default), or always `json` / `html` in this context. */
  format: FormatPolicy
  /** Level of 4xx log lines. Default `info`. */
  logLevel: Level
  /** Level of routing 404/405 log lines. Default: `logLevel`. */
  notFoundLogLevel: Level | undefined
  /** ms an async error handler may take before it counts as failed (the 500 answers). Default 10 000. */
  errorHandlerTimeout: number
  /**
   * Folder of the error page templates under the `@fastify/view` root (`errors/404.ejs`, …), or
   * `false` for none. Default `'errors'` (optional); a folder named here must exist (lib/templates.ts).
   */
  templates: string | false
  /**
   * Default JSON responses as RFC 9457 problem details (`application/problem+json`: `type`, `title`,
   * `status`, `detail`, `instance` and extension members, lib/problem.ts). Default false: Fastify's shape.
   */
  problemDetails: boolean
}

/**
 * Route hooks in front of the not-found handlers the plugin installs: Fastify takes them only as the
 * options of `setNotFoundHandler`, which the plugin calls (once per prefix), so they are given here.
 * @example
 * await app.register(flaskErrors, { notFoundHooks: { preHandler: app.rateLimit() } })
 */
export interface NotFoundHooks {
  /** As a route's `preValidation` option: a hook function or a list of them. */
  preValidation?: RouteShorthandOptions['preValidation']
  /** As a route's `preHandler` option: a hook function or a list of them. */
  preHandler?: RouteShorthandOptions['preHandler']
}

/** Everything `app.register(flaskErrors, options)` takes. */
export interface FlaskErrorsOptions extends Partial<Omit<ContextOptions, 'debug'>>, ReportOptions {
  /**
   * `true` turns debug mode on where NODE_ENV is unset, `development` or `test` (elsewhere it is refused);
   * `'force'` turns it on regardless, and lets `preview` of the same registration be mounted too.
   */
  debug?: boolean | 'force'
  /**
   * Path of an error page preview route in this context (`'/_errors'` serves `/_errors/410`), for
   * designers. Off by default; mounted only where NODE_ENV is unset, `development` or `test` (elsewhere
   * a warning is logged instead), or with `debug: 'force'`.
   */
  preview?: string | false
  /**
   * Route hooks (rate limiting, auth) run before the plugin answers a routing 404/405: at the root,
   * and in prefixed contexts that own their prefix (a context's own registration may give its own).
   */
  notFoundHooks?: NotFoundHooks
  /**
   * Header and query parameter names to mask, on top of the defaults (lib/redact.ts), everywhere the
   * plugin shows a request: debug page, reports, mails, log lines. App-wide.
   */
  redact?: RedactOptions
}

/** Defaults of the context options. */
export const DEFAULTS: Readonly<ContextOptions> = {
  debug: false,
  format: 'negotiate',
  logLevel: 'info',
  notFoundLogLevel: undefined,
  errorHandlerTimeout: 10_000,
  templates: 'errors',
  problemDetails: false
}

const FORMATS = new Set(['negotiate', 'json', 'html'])
const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const CONTEXT_KEYS = new Set(Object.keys(DEFAULTS))
const APP_KEYS = new Set(['report', 'reportWhen', 'reportTimeout', 'reportDedupeWindow', 'reportRateLimit', 'redact'])
/**
 * Options acted on where they are given (a route or a not-found handler is added there), not kept
 * with the context options child contexts inherit.
 */
const REGISTRATION_KEYS = new Set(['preview', 'notFoundHooks'])

/** Validates the context part of `options`; throws `FFE_INVALID_OPTION` naming the bad key. */
export function contextOptions (options: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Partial<ContextOptions> {
  for (const key of Object.keys(options)) {
    if (!CONTEXT_KEYS.has(key) && !APP_KEYS.has(key) && !REGISTRATION_KEYS.has(key)) throw new FFE_INVALID_OPTION(`unknown option "${key}"`)
  }
  const out: Partial<ContextOptions> = {}
  if (options.debug !== undefined) out.debug = debugOption(options.debug, env)
  if (options.format !== undefined) out.format = oneOf(options.format, FORMATS, 'format') as FormatPolicy
  if (options.logLevel !== undefined) out.logLevel = oneOf(options.logLevel, LEVELS, 'logLevel') as Level
  if (options.notFoundLogLevel !== undefined) out.notFoundLogLevel = oneOf(options.notFoundLogLevel, LEVELS, 'notFoundLogLevel') as Level
  if (options.errorHandlerTimeout !== undefined) out.errorHandlerTimeout = timeoutOption(options.errorHandlerTimeout)
  if (options.templates !== undefined) out.templates = templatesOption(options.templates)
  if (options.problemDetails !== undefined) out.problemDetails = booleanOption(options.problemDetails, 'problemDetails')
  return out
}

/** Options that only the app-level registration may set. */
export function appOnlyKeys (options: Record<string, unknown>): string[] {
  return Object.keys(options).filter((key) => APP_KEYS.has(key))
}

function booleanOption (value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new FFE_INVALID_OPTION(`${name} must be true or false, got ${describe(value)}`)
  return value
}

function oneOf (value: unknown, allowed: Set<string>, name: string): string {
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw new FFE_INVALID_OPTION(`${name} must be one of ${[...allowed].join(', ')}, got ${shown(value)}`)
  }
  return value
}

/** A refused value as the message shows it: its JSON, else described (a BigInt would make JSON throw). */
function shown (value: unknown): string {
  try {
    return JSON.stringify(value) ?? describe(value)
  } catch {
    // BigInt and cyclic values have no JSON form; the refusal must still be FFE_INVALID_OPTION.
    return describe(value)
  }
}

/** Largest delay `setTimeout` honours; above it Node fires after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647

/** An async error handler's time limit: an integer number of ms a timer can honour. */
function timeoutOption (value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new FFE_INVALID_OPTION(`errorHandlerTimeout must be an integer number of ms from 1 to ${MAX_TIMER_MS}, got ${typeof value === 'number' ? String(value) : typeof value}`)
  }
  return value
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
function debugOption (value: unknown, env: NodeJS.ProcessEnv): boolean {
  if (value !== true && value !== false && value !== 'force') {
    throw new FFE_INVALID_OPTION(`debug must be true, false or 'force', got ${shown(value)}`)
  }
  const deployed = value === true ? deployment(env) : undefined
  if (deployed !== undefined) {
    throw new FFE_INVALID_OPTION(`debug: true is refused because ${deployed}: the debug page shows stacks, source lines and request headers, so it runs ${DEVELOPMENT_RULE}; use debug: 'force' to turn it on anyway`)
  }
  return value !== false
}

/** A folder under the view root: relative, inside it (no `..`), or `false`. */
function templatesOption (value: unknown): string | false {
  if (value === false) return false
  const folder = typeof value === 'string' ? value.split(/[\\/]+/).filter((part) => part !== '' && part !== '.').join('/') : ''
  if (folder === '' || folder.trim() !== folder) {
    throw new FFE_INVALID_OPTION(`templates must name a folder under the @fastify/view root (e.g. 'errors') or be false, got ${shown(value)}`)
  }
  if (/^([\\/]|[A-Za-z]:)/.test(value as string) || folder.split('/').includes('..')) {
    throw new FFE_INVALID_OPTION(`templates must be a folder inside the @fastify/view root, not an absolute path or one that leaves it, got ${shown(value)}`)
  }
  return folder
}

/**
 * The `preview` option: a route path such as `'/_errors'`, or undefined when off. The preview answers
 * any status on demand, so it is mounted only where debug mode could run (or with `debug: 'force'` in
 * the same options). Elsewhere it is not mounted, with a warning through `log`, rather than refused:
 * a development config that reaches a deployment must neither crash it nor expose anything.
 */
export function previewOption (options: Record<string, unknown>, log: FastifyBaseLogger, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = options.preview
  if (value === undefined || value === false) return undefined
  if (typeof value !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(value)) {
    throw new FFE_INVALID_OPTION(`preview must be a path such as '/_errors' (letters, digits, . _ ~ - between slashes) or false, got ${shown(value)}`)
  }
  const deployed = options.debug === 'force' ? undefined : deployment(env)
  if (deployed !== undefined) {
    log.warn(`preview ${JSON.stringify(value)} is not mounted because ${deployed}: the error page preview runs ${DEVELOPMENT_RULE}; give debug: 'force' in the same registration to mount it anyway`)
    return undefined
  }
  return value
}

/**
 * The `redact` option: `{ headers?, query? }`, each a list of names (strings, whole names) or RegExps.
 * Returns fresh lists, so a later change to the caller's arrays cannot change what is masked.
 */
export function redactOption (options: Record<string, unknown>): RedactOptions {
  const value = options.redact
  if (value === undefined) return {}
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
  if (!Array.isArray(list)) throw new FFE_INVALID_OPTION(`redact.${key} must be a list of names or RegExps, e.g. ${example}, got ${shown(list)}`)
  for (const item of list as unknown[]) {
    if (item instanceof RegExp) continue
    if (typeof item !== 'string' || item === '') throw new FFE_INVALID_OPTION(`redact.${key} must list non-empty strings or RegExps, e.g. ${example}, got ${item === '' ? 'an empty string' : describe(item)}`)
    if (key === 'headers' && !isHeaderName(item)) throw new FFE_INVALID_OPTION(`redact.headers: ${JSON.stringify(item)} is not a header name (letters, digits and !#$%&'*+.^_\`|~- only); use a RegExp to match part of a name`)
  }
  return [...list as Array<string | RegExp>]
}

const NOT_FOUND_HOOK_NAMES = new Set(['preValidation', 'preHandler'])

/**
 * The `notFoundHooks` option: `{ preValidation?, preHandler? }`, each a hook function or a list of
 * them, or undefined when not given. Returns fresh lists, so a later change to the caller's arrays
 * cannot change what runs; a wrong value fails here, at startup, not on the first unknown URL.
 */
export function notFoundHooksOption (options: Record<string, unknown>): NotFoundHooks | undefined {
  const value = options.notFoundHooks
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'a list (say where its hooks run: { preHandler: [...] })' : shown(value)
    throw new FFE_INVALID_OPTION(`notFoundHooks must be an object { preValidation?, preHandler? } of route hooks, e.g. { preHandler: app.rateLimit() }, got ${got}`)
  }
  const out: Record<string, unknown[]> = {}
  for (const [name, hooks] of Object.entries(value as Record<string, unknown>)) {
    if (!NOT_FOUND_HOOK_NAMES.has(name)) {
      throw new FFE_INVALID_OPTION(`notFoundHooks takes preValidation and preHandler, got unknown key "${name}" (other hooks: app.addHook in the context, which covers its 404s too)`)
    }
    if (hooks === undefined) continue
    const list: unknown[] = Array.isArray(hooks) ? hooks : [hooks]
    const bad = list.findIndex((hook) => typeof hook !== 'function')
    if (bad !== -1) {
      throw new FFE_INVALID_OPTION(`notFoundHooks.${name} must be a hook function (request, reply, done) or async (request, reply), or a list of them, got ${Array.isArray(hooks) ? `a list holding ${describe(list[bad])}` : describe(hooks)}`)
    }
    out[name] = [...list]
  }
  return out as NotFoundHooks
}
