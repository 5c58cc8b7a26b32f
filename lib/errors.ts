/**
 * The plugin's own errors, all of them, under one scheme (as Fastify's lib/errors.js): @fastify/error
 * classes whose code starts with `FFE_` and whose message says the fix. They are programming and
 * configuration mistakes, raised at registration (or by `ready()`, or by `mailReporter()` when it is
 * called) so they show up when the app starts, not when a user hits the broken page.
 */
import createError from '@fastify/error'

/** An `errorhandler` key that is not a status, a class or an error code. */
export const FFE_INVALID_KEY = createError<[string]>('FFE_INVALID_KEY', 'cannot register an error handler for %s', 500, TypeError)

/** `errorhandler(key, handler)`: the decorator takes the key alone and returns the function that registers. */
export const FFE_DECORATOR_TAKES_KEY_ONLY = createError<[string]>(
  'FFE_DECORATOR_TAKES_KEY_ONLY', 'errorhandler takes only the key and returns the decorator: %s', 500, TypeError)

/** A handler that is not a function. */
export const FFE_INVALID_HANDLER = createError<[string]>(
  'FFE_INVALID_HANDLER', 'an error handler must be a function (error, request, reply) => …, got %s', 500, TypeError)

/**
 * Any plugin option that is unknown, of a wrong type or value, or given where it cannot apply: the
 * one code of lib/options.ts, whose message names the option and says what to write.
 */
export const FFE_INVALID_OPTION = createError<[string]>('FFE_INVALID_OPTION', 'invalid fastify-flask-errors option: %s', 500, TypeError)

/**
 * @deprecated The `report` option is checked with the others: a bad one throws `FFE_INVALID_OPTION`
 * (this name is that class, so `instanceof` and `t.throws(…, FFE_BAD_REPORTER)` keep working).
 */
export const FFE_BAD_REPORTER = FFE_INVALID_OPTION

/** @deprecated As `FFE_BAD_REPORTER`: a bad `reportWhen` throws `FFE_INVALID_OPTION`, this same class. */
export const FFE_BAD_REPORT_WHEN = FFE_INVALID_OPTION

/** @deprecated As `FFE_BAD_REPORTER`: a bad `reportTimeout`, `reportDedupeWindow` or `reportRateLimit` throws `FFE_INVALID_OPTION`. */
export const FFE_BAD_REPORT_OPTION = FFE_INVALID_OPTION

/** A 404/405 handler registered in a prefixed context after the app is ready. */
export const FFE_ROUTING_CLAIM_TOO_LATE = createError<[string]>('FFE_ROUTING_CLAIM_TOO_LATE',
  'cannot register a %s handler in a prefixed context after the app is ready: routing errors can no longer be claimed; ' +
  'register it before ready() / listen()', 500)

/** A not-found handler that the application set itself where the plugin needs to install its own. */
export const FFE_NOT_FOUND_HANDLER_TAKEN = createError<[string, { cause: unknown }?]>('FFE_NOT_FOUND_HANDLER_TAKEN',
  'a not-found handler is already set for prefix "%s"; remove your setNotFoundHandler and register errorhandler(404) instead', 500)

/** A `templates` folder that the application named cannot be used (missing, or no view plugin); raised by `ready()`. */
export const FFE_TEMPLATES_NOT_FOUND = createError<[string]>('FFE_TEMPLATES_NOT_FOUND', 'error page templates: %s', 500)

/** An option of `mailReporter()` (from `fastify-flask-errors/mail`) that is missing or has the wrong type: not a plugin option. */
export const FFE_BAD_MAIL_OPTION = createError<[string, string, string]>(
  'FFE_BAD_MAIL_OPTION', 'mailReporter: %s must be %s, got %s', 500, TypeError)

/** An environment variable read by `mailReporterFromEnv()` that has an unusable value. */
export const FFE_BAD_MAIL_ENV = createError<[string, string, string]>(
  'FFE_BAD_MAIL_ENV', 'mailReporterFromEnv: %s must be %s, got %s', 500, TypeError)

/** What was given to `sentryReporter()` (from `fastify-flask-errors/sentry`) is not the Sentry SDK module. */
export const FFE_BAD_SENTRY = createError<[string]>('FFE_BAD_SENTRY',
  "sentryReporter takes the Sentry SDK module: import * as Sentry from '@sentry/node' and pass Sentry, got %s", 500, TypeError)
