/**
 * The CommonJS declarations (dist/cjs, the `require` condition of the package's `exports`), as a
 * TypeScript CommonJS file reads them: `require('fastify-flask-errors')` is the plugin itself with
 * every named export on it, and `require('fastify-flask-errors/mail')` the mail entry's exports.
 * A CommonJS file under `verbatimModuleSyntax` imports with `import x = require(…)` only.
 */
import Fastify = require('fastify')
import tsd = require('tsd')
import flaskErrors = require('fastify-flask-errors')
import mail = require('fastify-flask-errors/mail')

const app = Fastify()
// The value `require` returns is the plugin, and so are its `default` and `flaskErrors`.
app.register(flaskErrors)
app.register(flaskErrors, { format: 'json', problemDetails: true, reportTimeout: 5000 })
app.register(flaskErrors.default)
app.register(flaskErrors.flaskErrors, { debug: false })
tsd.expectError(app.register(flaskErrors, { format: 'xml' }))
tsd.expectError(app.register(flaskErrors, { redact: { headers: 1 } }))

// Named values and types through the same name.
tsd.expectType<never>(flaskErrors.abort(404))
tsd.expectAssignable<flaskErrors.HTTPException>(new flaskErrors.NotFound())
tsd.expectType<flaskErrors.RequestedRangeNotSatisfiable>(new flaskErrors.RangeNotSatisfiable())
tsd.expectType<string>(flaskErrors.escapeHtml('<b>'))
tsd.expectType<'application/problem+json; charset=utf-8'>(flaskErrors.PROBLEM_CONTENT_TYPE)
tsd.expectType<string>(flaskErrors.errorResponses()['4xx'].content['application/json'].schema.$ref)
tsd.expectAssignable<Error>(new flaskErrors.FFE_INVALID_OPTION('format'))
const options: flaskErrors.FlaskErrorsOptions = { format: 'html', notFoundLogLevel: 'debug' }
const levels: flaskErrors.LogLevelTable = [[flaskErrors.PaymentRequired, 'warn'], ['FST_ERR_VALIDATION', 'silent']]
app.register(flaskErrors, { logLevels: levels })
tsd.expectError(app.register(flaskErrors, { logLevels: { 404: 'loud' } }))
app.register(flaskErrors, options)
const reporter: flaskErrors.Reporter = (report: flaskErrors.ErrorReport) => { void report.request.url }
app.register(flaskErrors, { report: [reporter, mail.mailReporterFromEnv()] })
tsd.expectError(flaskErrors.stackCapture)
tsd.expectError(flaskErrors.statusClasses)

// The augmentation of Fastify comes with it: decorators and the handler results.
app.errorhandler(404)((error, request, reply) => {
  tsd.expectType<flaskErrors.StatusError>(error)
  tsd.expectType<flaskErrors.Representation>(reply.errorFormat())
  return ['not here', 404]
})
app.register_error_handler(flaskErrors.Gone, (error) => { tsd.expectType<flaskErrors.Gone>(error) })
app.registerErrorHandler('ECONNREFUSED', async (error) => error.statusCode === undefined ? { upstream: 'down' } : error.message)
tsd.expectError(app.errorhandler(404)(() => 42))
tsd.expectError(app.errorhandler(Object))
tsd.expectAssignable<flaskErrors.HandlerResult>(Promise.resolve('<h1>Gone</h1>'))
app.get('/gone', (request, reply) => reply.abort(410))

// The mail entry.
tsd.expectType<flaskErrors.Reporter>(mail.mailReporter({ smtp: { host: 'localhost' }, from: 'a@example.com', to: 'b@example.com' }))
tsd.expectType<flaskErrors.Reporter | null>(mail.mailReporterFromEnv(process.env, { subject: '[shop]' }))
tsd.expectError(mail.mailReporter({ smtp: { host: 'localhost' }, from: 1, to: 'b@example.com' }))
tsd.expectAssignable<Error>(new mail.FFE_BAD_MAIL_OPTION('from', 'an address', '1'))
const smtp: mail.SmtpSettings = { host: 'localhost', port: 25 }
const mailOptions: mail.MailReporterOptions = { smtp, from: 'a@example.com', to: ['b@example.com'] }
void mailOptions
tsd.expectError(mail.formatReportText)
