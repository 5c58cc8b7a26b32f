/**
 * Plugin options: every option is declared once, in the table below (its scope, default and
 * validator), and read once, at registration, by `normalizeOptions`: a typo fails when the app starts,
 * not on the first error, and every bad option fails the same way, `FFE_INVALID_OPTION`, with a
 * message that names it and says what to write (as @fastify/cors normalises its options in one place).
 * Scopes: a context option may be set again by a nested registration and is inherited by child
 * contexts; an app option belongs to the whole app and only the first registration may give it; a
 * registration option acts where it is given (a route, a not-found handler's hooks).
 */
import type { FastifyBaseLogger, RouteShorthandOptions } from 'fastify'
import { FFE_INVALID_OPTION } from './errors.js'
import type { Level } from './log.js'
import { NO_TABLES, layerLevels, readLogLevel, readLogLevels } from './log-levels.js'
import type { LevelTables, LogLevelTable } from './log-levels.js'
import type { FormatPolicy } from './negotiate.js'
import {
  FORMATS, LEVELS, MAX_TIMER_MS, oneOf, positiveInteger, readBoolean, readDebug, readNotFoundHooks, readPreview, readRedact,
  readReportContext, readReportWhen, readReporters, readTemplates
} from './option-checks.js'
import type { Reading, ReportPredicate } from './option-checks.js'
import type { RedactOptions } from './redact.js'
import type { Layering } from './registry.js'
import type { ReportContextFunction } from './report-context.js'
import { isServerError } from './report.js'
import type { ReportOptions, Reporter } from './report.js'

/** Options a context can set for itself (`child.register(flaskErrors, { format: 'json' })`). */
export interface ContextOptions {
  /** Show the debug page/JSON with stack and cause chain; 500 handlers are skipped. Default false. */
  debug: boolean
  /** `negotiate` (default), or always `json` / `html` in this context. */
  format: FormatPolicy
  /** Level of 4xx log lines no `logLevels` entry names. Default `info`. */
  logLevel: Level
  /** Per-error levels: this context's tables, then its parents' (lib/log-levels.ts). Default: none. */
  logLevels: LevelTables
  /** Level of routing 404/405 log lines. Default: the `logLevels` entry for 404/405, else `logLevel`. */
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
export interface FlaskErrorsOptions extends Partial<Omit<ContextOptions, 'debug' | 'logLevels'>>, ReportOptions {
  /**
   * Levels per kind of error, keyed like handlers and looked up in their order: a `Map` or a list
   * of `[key, level]` pairs (any `errorhandler` key: status, status class, error class, error code),
   * or a plain object (statuses and error codes), to a level or `'silent'`. An entry may lower a 5xx
   * too; a 5xx no entry names is logged at `error`, a 4xx at `logLevel`. A nested registration's
   * entries are searched before its parents'.
   * @example
   * { logLevels: { FST_ERR_VALIDATION: 'silent', 402: 'warn' } }
   * { logLevels: [[PaymentRequired, 'warn'], [ServiceUnavailable, 'warn']] }
   */
  logLevels?: LogLevelTable
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
  /**
   * ms an error page template may take to render; after it the built-in page is sent and the failure
   * logged, so an `async: true` template that awaits forever cannot hang the request. Default 3 000.
   */
  templateTimeout?: number
  /**
   * Record error responses on the request's OpenTelemetry span and show its trace id next to the
   * request id (lib/trace.ts). Default true: used when `@opentelemetry/api` is installed, a no-op
   * otherwise. App-wide.
   */
  openTelemetry?: boolean
}

/** Where an option applies: see the file's comment. */
type Scope = 'context' | 'app' | 'registration'

/** One row of the table. `read` gets a value that was given (not undefined) and returns it normalised, or throws. */
interface Option<S extends Scope, T> {
  readonly scope: S
  readonly default: T
  readonly read: (value: unknown, name: string, reading: Reading) => T
  /** For a context option that layers over the enclosing contexts' value instead of replacing it (lib/registry.ts). */
  layer?(inner: T, outer: T): T
}

/** A row; its types are inferred, so the normalised options' types come from the table. */
function option<S extends Scope, T> (
  scope: S, fallback: T, read: (value: unknown, name: string, reading: Reading) => T, layer?: (inner: T, outer: T) => T
): Option<S, T> {
  return { scope, default: fallback, read, layer }
}

/**
 * Every option of `app.register(flaskErrors, options)`, once. The compiler checks that its names are
 * exactly those of `FlaskErrorsOptions` (`satisfies` below) and that its context rows make
 * `ContextOptions` (`DEFAULTS`, `ContextNamesChecked`).
 */
const OPTIONS = {
  debug: option('context', false, readDebug),
  format: option<'context', FormatPolicy>('context', 'negotiate', oneOf(FORMATS)),
  logLevel: option<'context', Level>('context', 'info', readLogLevel),
  /** A context's tables are searched before its parents': they layer, where other options replace. */
  logLevels: option<'context', LevelTables>('context', NO_TABLES, readLogLevels, layerLevels),
  /** Undefined: routing 404/405 lines take the `logLevels` entry for their status, else `logLevel`. */
  notFoundLogLevel: option<'context', Level | undefined>('context', undefined, oneOf(LEVELS)),
  errorHandlerTimeout: option('context', 10_000, positiveInteger(MAX_TIMER_MS, 'an integer number of ms')),
  templates: option<'context', string | false>('context', 'errors', readTemplates),
  problemDetails: option('context', false, readBoolean),
  report: option<'app', readonly Reporter[]>('app', [], readReporters),
  reportWhen: option<'app', ReportPredicate>('app', isServerError, readReportWhen),
  reportTimeout: option('app', 10_000, positiveInteger(MAX_TIMER_MS, 'an integer number of ms')),
  reportDedupeWindow: option('app', 60_000, positiveInteger(MAX_TIMER_MS, 'an integer number of ms')),
  reportRateLimit: option('app', 100, positiveInteger(Number.MAX_SAFE_INTEGER, 'an integer')),
  reportContext: option<'app', ReportContextFunction | undefined>('app', undefined, readReportContext),
  redact: option<'app', RedactOptions>('app', {}, readRedact),
  templateTimeout: option('app', 3_000, positiveInteger(MAX_TIMER_MS, 'an integer number of ms')),
  openTelemetry: option('app', true, readBoolean),
  preview: option<'registration', string | undefined>('registration', undefined, readPreview),
  notFoundHooks: option<'registration', NotFoundHooks | undefined>('registration', undefined, readNotFoundHooks)
} satisfies { readonly [K in keyof FlaskErrorsOptions]-?: Option<Scope, unknown> }

type Options = typeof OPTIONS
type Name = keyof Options
/** The names of one scope's options, from the table. */
type NamesOf<S extends Scope> = { [K in Name]: Options[K]['scope'] extends S ? K : never }[Name]
/** One scope's options as the normaliser returns them. */
type Normalized<S extends Scope> = { readonly [K in NamesOf<S>]: ReturnType<Options[K]['read']> }

/** Compile-time check: the table's context options are exactly the keys of `ContextOptions`. */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Holds<T extends true> = T
export type ContextNamesChecked = Holds<Exactly<NamesOf<'context'>, keyof ContextOptions>>

/** The app-wide options, checked and with their defaults: what the reporting engine and the redaction policy get. */
export type AppOptions = Normalized<'app'>

const NAMES = Object.keys(OPTIONS) as Name[]
const KNOWN: ReadonlySet<string> = new Set(NAMES)
const APP_NAMES: ReadonlySet<string> = new Set(NAMES.filter((name) => OPTIONS[name].scope === 'app'))

/** The defaults of one scope's options, read from the table. */
function defaultsOf<S extends Scope> (scope: S): Normalized<S> {
  const names = NAMES.filter((name) => OPTIONS[name].scope === scope)
  return Object.fromEntries(names.map((name) => [name, OPTIONS[name].default])) as Normalized<S>
}

/** Defaults of the context options: what a context has where no registration set an option. */
export const DEFAULTS: Readonly<ContextOptions> = Object.freeze(defaultsOf('context'))

/** The context options that layer over the enclosing contexts' value, read from the table (the registry's `Layering`). */
export const LAYERING: Layering<ContextOptions> = Object.freeze(Object.fromEntries(
  NAMES.flatMap((name) => OPTIONS[name].layer === undefined ? [] : [[name, OPTIONS[name].layer]])
))

/** One registration's options, checked and normalised. */
export interface Registration {
  /** The context options this registration gives; the others are inherited from the enclosing context. */
  readonly context: Partial<ContextOptions>
  /** The app-wide options, with their defaults (a nested registration may give none: they are the defaults). */
  readonly app: AppOptions
  /** The preview route's path, or undefined where it is off or not mounted (a warning was logged then). */
  readonly preview: string | undefined
  /** Hooks for the not-found handlers of this registration's context, or undefined. */
  readonly notFoundHooks: NotFoundHooks | undefined
}

/**
 * Reads one registration's options: refuses unknown names and app options outside the first
 * registration, runs each given option's validator (`undefined` counts as not given), and resolves
 * the app options' defaults. Throws `FFE_INVALID_OPTION`; logs through `log` only the preview's warning.
 */
export function normalizeOptions (
  given: Readonly<Record<string, unknown>>,
  where: { first: boolean, log: FastifyBaseLogger, env?: NodeJS.ProcessEnv }
): Registration {
  const keys = Object.keys(given)
  const misplaced = where.first ? [] : keys.filter((key) => APP_NAMES.has(key))
  if (misplaced.length > 0) throw new FFE_INVALID_OPTION(`${misplaced.join(', ')} can only be set where the plugin is first registered`)
  for (const key of keys) if (!KNOWN.has(key)) throw new FFE_INVALID_OPTION(`unknown option "${key}"`)
  const reading: Reading = { given, env: where.env ?? process.env, log: where.log }
  const context: Record<string, unknown> = {}
  const app: Record<string, unknown> = defaultsOf('app')
  const registration: Record<string, unknown> = defaultsOf('registration')
  const byScope: Record<Scope, Record<string, unknown>> = { context, app, registration }
  for (const name of NAMES) {
    const value = given[name]
    if (value !== undefined) byScope[OPTIONS[name].scope][name] = OPTIONS[name].read(value, name, reading)
  }
  return {
    context,
    app: app as AppOptions,
    preview: registration.preview as string | undefined,
    notFoundHooks: registration.notFoundHooks as NotFoundHooks | undefined
  }
}
