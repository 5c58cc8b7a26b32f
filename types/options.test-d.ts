/**
 * The options of `app.register(flaskErrors, options)`: every option with each kind of value it takes
 * compiles, and a wrong type (or an unknown name) does not, so most mistakes the plugin would refuse
 * at registration with FFE_INVALID_OPTION are already caught by the compiler.
 */
import Fastify, { type preHandlerHookHandler } from 'fastify'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import flaskErrors, {
  type ErrorReport, type FlaskErrorsOptions, type FormatPolicy, type NotFoundHooks, type RedactOptions, type ReportOptions
} from 'fastify-flask-errors'

const app = Fastify()
const hook: preHandlerHookHandler = (request, reply, done) => { done() }
const asyncHook: preHandlerHookHandler = async () => {}

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
