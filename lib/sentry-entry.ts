/**
 * `fastify-flask-errors/sentry`, the subpath entry (package.json `exports`): the reporter that sends
 * error reports to Sentry, and the predicate that keeps Sentry's own Fastify integration from
 * capturing the same errors again. A subpath of its own, as the mail reporter has: only applications
 * that report to Sentry load it, and it takes their `@sentry/node` as an argument instead of
 * depending on one.
 *
 * @example
 * import * as Sentry from '@sentry/node'
 * import { sentryReporter, shouldHandleError } from 'fastify-flask-errors/sentry'
 * Sentry.init({ dsn: process.env.SENTRY_DSN, integrations: [Sentry.fastifyIntegration({ shouldHandleError })] })
 * await app.register(flaskErrors, { report: sentryReporter(Sentry) })
 */
export { FFE_BAD_SENTRY, sentryReporter, shouldHandleError } from './sentry.js'
export type { SentryClient, SentryEvent, SentryScope, SentrySdk } from './sentry.js'
