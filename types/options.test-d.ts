/**
 * The options of `app.register(flaskErrors, options)`: every option with each kind of value it takes
 * compiles, and a wrong type (or an unknown name) does not, so most mistakes the plugin would refuse
 * at registration with FFE_INVALID_OPTION are already caught by the compiler.
 */
import Fastify, { type FastifyRequest, type LogLevel, type preHandlerHookHandler } from 'fastify'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import flaskErrors, {
  NotFound, PaymentRequired,
  type ErrorKey, type ErrorReport, type FlaskErrorsOptions, type FormatPolicy, type LogLevelTable, type NotFoundHooks, type RedactOptions,
  type ReportOptions
} from 'fastify-flask-errors'

const app = Fastify()
const hook: preHandlerHookHandler = (request, reply, done) => { done() }
const asyncHook: preHandlerHookHandler = async () => {}
class DbError extends Error {}

// Every option, each form it takes.
await app.register(flaskErrors, {
  format: 'negotiate',
  debug: false,
  problemDetails: true,
  templates: 'errors',
  preview: '/_errors',
  errorHandlerTimeout: 10_000,
  logLevel: 'info',
  notFoundLogLevel: 'debug',
  notFoundHooks: { preValidation: hook, preHandler: [hook, asyncHook] },
  report: (report) => { expectType<ErrorReport>(report) },
  reportWhen: [500, 503],
  reportTimeout: 10_000,
  reportDedupeWindow: 60_000,
  reportRateLimit: 100,
  redact: { headers: ['x-shop-key', /^x-secret-/i], query: ['voucher', /token$/] }
})
await app.register(flaskErrors, { format: 'json', debug: true, templates: false, preview: false, logLevel: 'silent' })
await app.register(flaskErrors, { format: 'html', debug: 'force', notFoundHooks: { preHandler: hook } })
await app.register(flaskErrors, {
  report: [null, async () => {}, undefined],
  reportWhen: (status, error) => status >= 500 && error !== null
})
await app.register(flaskErrors, { report: null, redact: {} })
// logLevels: a plain object (statuses, codes), a list of pairs or a Map (any errorhandler key), to levels or 'silent'.
await app.register(flaskErrors, { logLevel: 'info', logLevels: { FST_ERR_VALIDATION: 'silent', 402: 'warn' } })
await app.register(flaskErrors, { logLevels: [[PaymentRequired, 'warn'], [503, 'warn'], ['FST_ERR_VALIDATION', 'silent'], [DbError, 'fatal']] })
await app.register(flaskErrors, { logLevels: new Map<ErrorKey, LogLevel>([[PaymentRequired, 'warn'], ['E_QUOTA', 'debug']]) })
// A Map without type arguments infers string levels (and its first key's type), hence the list form.
expectError(app.register(flaskErrors, { logLevels: new Map([[PaymentRequired, 'warn']]) }))
expectAssignable<LogLevelTable>({ 404: 'debug' })
expectAssignable<FlaskErrorsOptions>({ logLevels: [[NotFound, 'trace']] })
// reportContext: the live request and the reported error; a plain object, nothing, or a promise of either.
await app.register(flaskErrors, {
  reportContext: (request, error) => {
    expectType<FastifyRequest>(request)
    expectType<unknown>(error)
    return { requestId: request.id, tenant: request.headers['x-tenant'] }
  }
})
await app.register(flaskErrors, { reportContext: async (request) => ({ host: request.hostname }) })
await app.register(flaskErrors, { reportContext: () => undefined })
await app.register(flaskErrors, { reportContext: async () => null })
await app.register(flaskErrors, {})
expectAssignable<FlaskErrorsOptions>({ format: 'json', reportRateLimit: 1 })
expectAssignable<FormatPolicy>('negotiate')
expectAssignable<NotFoundHooks>({ preValidation: [hook] })
expectAssignable<RedactOptions>({ headers: ['a'] })
expectAssignable<ReportOptions>({ reportTimeout: 1 })
expectAssignable<FlaskErrorsOptions>({ redact: { headers: ['a'] } })

// Wrong types are refused, option by option.
expectError(app.register(flaskErrors, { format: 'xml' }))
expectError(app.register(flaskErrors, { debug: 'yes' }))
expectError(app.register(flaskErrors, { problemDetails: 'yes' }))
expectError(app.register(flaskErrors, { templates: true }))
expectError(app.register(flaskErrors, { templates: 1 }))
expectError(app.register(flaskErrors, { preview: true }))
expectError(app.register(flaskErrors, { errorHandlerTimeout: '10s' }))
expectError(app.register(flaskErrors, { logLevel: 'loud' }))
expectError(app.register(flaskErrors, { notFoundLogLevel: 30 }))
// logLevel is one level (Fastify's own register option of that name is typed so); a table goes in logLevels.
expectError(app.register(flaskErrors, { logLevel: { 404: 'debug' } }))
expectError(app.register(flaskErrors, { logLevels: 'warn' }))
expectError(app.register(flaskErrors, { logLevels: { 404: 'loud' } }))
expectError(app.register(flaskErrors, { logLevels: [[404, 'loud']] }))
expectError(app.register(flaskErrors, { logLevels: [[404]] }))
expectError(app.register(flaskErrors, { logLevels: [[true, 'warn']] }))
expectError(app.register(flaskErrors, { logLevels: new Map([[404, 30]]) }))
expectError(app.register(flaskErrors, { notFoundHooks: { preHandler: 1 } }))
expectError(app.register(flaskErrors, { notFoundHooks: { preValidation: 'rateLimit' } }))
expectError(app.register(flaskErrors, { notFoundHooks: hook }))
expectError(app.register(flaskErrors, { notFoundHooks: { onRequest: hook } }))
expectError(app.register(flaskErrors, { report: 'admin@example.com' }))
expectError(app.register(flaskErrors, { report: [1] }))
// eslint-disable-next-line no-void -- the parameters exist only for their types
expectError(app.register(flaskErrors, { report: (report: ErrorReport, extra: string) => { void report; void extra } }))
expectError(app.register(flaskErrors, { reportWhen: 500 }))
expectError(app.register(flaskErrors, { reportWhen: ['500'] }))
expectError(app.register(flaskErrors, { reportWhen: (status: string) => status === '500' }))
expectError(app.register(flaskErrors, { reportTimeout: '1' }))
expectError(app.register(flaskErrors, { reportDedupeWindow: '60s' }))
expectError(app.register(flaskErrors, { reportRateLimit: '100' }))
expectError(app.register(flaskErrors, { reportContext: { userId: 1 } }))
expectError(app.register(flaskErrors, { reportContext: () => 'user-7' }))
expectError(app.register(flaskErrors, { reportContext: async () => 42 }))
expectError(app.register(flaskErrors, { redact: { headers: 1 } }))
expectError(app.register(flaskErrors, { redact: { headers: 'x-shop-key' } }))
expectError(app.register(flaskErrors, { redact: { query: [1] } }))
expectError(app.register(flaskErrors, { redact: { cookies: ['session'] } }))
expectError(app.register(flaskErrors, { redact: ['x-shop-key'] }))
// An unknown name: a typo fails to compile, as it fails at registration.
expectError(app.register(flaskErrors, { fromat: 'json' }))
expectError(app.register(flaskErrors, { reportWhenn: [500] }))
expectNotAssignable<FlaskErrorsOptions>({ format: 'xml' })
expectNotAssignable<FlaskErrorsOptions>({ reportTimeout: '1' })
