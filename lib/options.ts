/**
 * Plugin options: validated once at registration (a typo fails at startup, not on the first error),
 * split into what a context may set for itself and what belongs to the whole app.
 */
import { FFE_INVALID_OPTION } from './errors.js'
import type { Level } from './log.js'
import type { FormatPolicy } from './negotiate.js'
import type { ReportOptions } from './report.js'

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
}

/** Everything `app.register(flaskErrors, options)` takes. */
export interface FlaskErrorsOptions extends Partial<Omit<ContextOptions, 'debug'>>, ReportOptions {
  /** `true` turns debug mode on (refused when NODE_ENV=production); `'force'` turns it on regardless. */
  debug?: boolean | 'force'
}

/** Defaults of the context options. */
export const DEFAULTS: Readonly<ContextOptions> = {
  debug: false,
  format: 'negotiate',
  logLevel: 'info',
  notFoundLogLevel: undefined
}

const FORMATS = new Set(['negotiate', 'json', 'html'])
const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const CONTEXT_KEYS = new Set(Object.keys(DEFAULTS))
const APP_KEYS = new Set(['report', 'reportWhen', 'reportTimeout', 'reportDedupeWindow', 'reportRateLimit'])

/** Validates the context part of `options`; throws `FFE_INVALID_OPTION` naming the bad key. */
export function contextOptions (options: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Partial<ContextOptions> {
  for (const key of Object.keys(options)) {
    if (!CONTEXT_KEYS.has(key) && !APP_KEYS.has(key)) throw new FFE_INVALID_OPTION(`unknown option "${key}"`)
  }
  const out: Partial<ContextOptions> = {}
  if (options.debug !== undefined) out.debug = debugOption(options.debug, env)
  if (options.format !== undefined) out.format = oneOf(options.format, FORMATS, 'format') as FormatPolicy
  if (options.logLevel !== undefined) out.logLevel = oneOf(options.logLevel, LEVELS, 'logLevel') as Level
  if (options.notFoundLogLevel !== undefined) out.notFoundLogLevel = oneOf(options.notFoundLogLevel, LEVELS, 'notFoundLogLevel') as Level
  return out
}

/** Options that only the app-level registration may set. */
export function appOnlyKeys (options: Record<string, unknown>): string[] {
  return Object.keys(options).filter((key) => APP_KEYS.has(key))
}

function oneOf (value: unknown, allowed: Set<string>, name: string): string {
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw new FFE_INVALID_OPTION(`${name} must be one of ${[...allowed].join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * Debug mode shows stacks and request headers: never on a production server by accident.
 * `debug: 'force'` is the explicit override for a staging box that runs with NODE_ENV=production.
 */
function debugOption (value: unknown, env: NodeJS.ProcessEnv): boolean {
  if (value !== true && value !== false && value !== 'force') {
    throw new FFE_INVALID_OPTION(`debug must be true, false or 'force', got ${JSON.stringify(value)}`)
  }
  if (value === true && env.NODE_ENV === 'production') {
    throw new FFE_INVALID_OPTION('debug: true is refused with NODE_ENV=production, because the debug page shows stacks and request headers; use debug: \'force\' if you really mean it')
  }
  return value !== false
}
